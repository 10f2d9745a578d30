"""Personas, async clients bound to one caller, and small helpers for asserting on gRPC results.

A caller reaches the API one of two ways (see conftest.py):
  edge    through Envoy with TLS and a token signed by the sandbox issuer (the default: the real path);
  direct  straight to a server process with the headers Envoy adds after checking the token
          (`x-dm-proxy-secret` plus `x-jwt-payload`): tests of one process's own behaviour, and
          the whole suite when DM_TEST_TRANSPORT=direct.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2, status_pb2

from drift_monitoring.v1 import (
    alert_pb2_grpc,
    audit_pb2,
    audit_pb2_grpc,
    drift_pb2,
    drift_pb2_grpc,
    experiment_pb2,
    experiment_pb2_grpc,
    imports_pb2_grpc,
    user_pb2,
    user_pb2_grpc,
)
from stack import ADMIN_ENTITLEMENT, SECRET

Code = grpc.StatusCode
RpcError = grpc.aio.AioRpcError
Metadata = tuple[tuple[str, str], ...]

GROUP = "urn:drift-monitoring:group:ml-team"  # granted READ on the scenario's private experiment
OTHER_GROUP = "urn:drift-monitoring:group:other-team"
AUDIENCE = "drift-monitoring"

READ, EDIT, MANAGE = experiment_pb2.ACCESS_LEVEL_READ, experiment_pb2.ACCESS_LEVEL_EDIT, experiment_pb2.ACCESS_LEVEL_MANAGE
RUNNING, COMPLETED, FAILED = drift_pb2.DRIFT_STATUS_RUNNING, drift_pb2.DRIFT_STATUS_COMPLETED, drift_pb2.DRIFT_STATUS_FAILED
CREATED, UPDATED, DELETED, HEARTBEAT = (
    drift_pb2.DRIFT_EVENT_TYPE_CREATED,
    drift_pb2.DRIFT_EVENT_TYPE_UPDATED,
    drift_pb2.DRIFT_EVENT_TYPE_DELETED,
    drift_pb2.DRIFT_EVENT_TYPE_HEARTBEAT,
)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# -- personas ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Persona:
    """Someone holding a token: a subject at the test issuer, with entitlements (groups)."""

    name: str
    sub: str
    entitlements: tuple[str, ...] = ()

    @property
    def display_name(self) -> str:
        return f"IT {self.name.replace('_', ' ').title()}"

    @property
    def email(self) -> str:
        return f"{self.sub}@example.org"

    def claims(self, issuer: str, lifetime: int = 3600) -> dict[str, Any]:
        issued = int(time.time())
        return {
            "iss": issuer,
            "sub": self.sub,
            "aud": AUDIENCE,
            "iat": issued,
            "nbf": issued,
            "exp": issued + lifetime,
            "name": self.display_name,
            "email": self.email,
            "eduperson_entitlement": list(self.entitlements),
        }

    def metadata(self, issuer: str, secret: str = SECRET) -> Metadata:
        """The headers Envoy forwards for this persona's verified token."""
        return gateway_metadata(self.claims(issuer), secret)


def gateway_metadata(claims: dict[str, Any] | None, secret: str = SECRET) -> Metadata:
    """Exactly what Envoy sends the server: the shared secret and, when signed in, the token's payload."""
    headers: list[tuple[str, str]] = [("x-dm-proxy-secret", secret)]
    if claims is not None:
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        headers.append(("x-jwt-payload", payload))
    return tuple(headers)


# The registered cast of the shared scenario (newbie and anonymous are made per session in conftest.py).
ADMIN = Persona("admin", "it-admin", (ADMIN_ENTITLEMENT,))
MANAGER = Persona("manager", "it-manager")
EDITOR = Persona("editor", "it-editor")
READER = Persona("reader", "it-reader")
OUTSIDER = Persona("outsider", "it-outsider", (OTHER_GROUP,))
GROUP_MEMBER = Persona("group_member", "it-group-member", (GROUP,))
REGISTERED = (ADMIN, MANAGER, EDITOR, READER, OUTSIDER, GROUP_MEMBER)


# -- clients -------------------------------------------------------------------------------------------


class _Bound:
    """A stub whose calls all carry one caller's metadata and a deadline (10 s unless given)."""

    def __init__(self, stub: Any, metadata: Metadata) -> None:
        self._stub, self._metadata = stub, metadata

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._stub, name)

        def call(request: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("timeout", 10)
            return method(request, metadata=self._metadata, **kwargs)

        return call


class Api:
    """The three services as one caller sees them, over one grpc.aio channel."""

    def __init__(self, channel: grpc.aio.Channel, metadata: Metadata, persona: Persona | None = None) -> None:
        self.channel, self.metadata, self.persona = channel, metadata, persona
        self.experiments = _Bound(experiment_pb2_grpc.ExperimentServiceStub(channel), metadata)
        self.drifts = _Bound(drift_pb2_grpc.DriftServiceStub(channel), metadata)
        self.users = _Bound(user_pb2_grpc.UserServiceStub(channel), metadata)
        self.imports = _Bound(imports_pb2_grpc.ImportServiceStub(channel), metadata)
        self.audit = _Bound(audit_pb2_grpc.AuditServiceStub(channel), metadata)
        self.alerts = _Bound(alert_pb2_grpc.AlertServiceStub(channel), metadata)
        self.id = ""  # User.id once registered

    def __repr__(self) -> str:
        return f"Api({self.persona.name if self.persona else 'anonymous'})"

    async def register(self) -> Api:
        self.id = (await self.users.RegisterUser(user_pb2.RegisterUserRequest(accept_terms=True))).id
        return self

    # Experiments.
    async def create_experiment(self, name: str | None = None, **fields: Any) -> experiment_pb2.Experiment:
        experiment = experiment_pb2.Experiment(name=name or unique("exp"), **fields)
        return await self.experiments.CreateExperiment(experiment_pb2.CreateExperimentRequest(experiment=experiment))

    async def get_experiment(self, experiment_id: str) -> experiment_pb2.Experiment:
        return await self.experiments.GetExperiment(experiment_pb2.GetExperimentRequest(experiment_id=experiment_id))

    async def lookup_experiment(self, name: str) -> experiment_pb2.Experiment:
        return await self.experiments.LookupExperiment(experiment_pb2.LookupExperimentRequest(name=name))

    async def list_experiments(self, **fields: Any) -> experiment_pb2.ListExperimentsResponse:
        return await self.experiments.ListExperiments(experiment_pb2.ListExperimentsRequest(**fields))

    def update_experiment(self, experiment_id: str, paths: Sequence[str] | None = None, **fields: Any) -> Any:
        experiment = experiment_pb2.Experiment(id=experiment_id, **fields)
        mask = field_mask_pb2.FieldMask(paths=list(paths)) if paths is not None else None
        return self.experiments.UpdateExperiment(experiment_pb2.UpdateExperimentRequest(experiment=experiment, update_mask=mask))

    def audit_events(self, experiment_id: str = "", **fields: Any) -> Any:
        return self.audit.ListAuditEvents(audit_pb2.ListAuditEventsRequest(experiment_id=experiment_id, **fields))

    def delete_experiment(self, experiment_id: str) -> Any:
        return self.experiments.DeleteExperiment(experiment_pb2.DeleteExperimentRequest(experiment_id=experiment_id))

    # Drifts.
    async def create_drift(self, experiment_id: str, request_id: str = "", **fields: Any) -> drift_pb2.Drift:
        fields.setdefault("model", "model-a")
        request = drift_pb2.CreateDriftRequest(experiment_id=experiment_id, drift=drift_pb2.Drift(**fields), request_id=request_id)
        return await self.drifts.CreateDrift(request)

    async def batch_create(self, experiment_id: str, drifts: Sequence[drift_pb2.Drift], prefix: str = "") -> list[drift_pb2.Drift]:
        """BatchCreateDrifts; request ids `<prefix><index>` when a prefix is given."""
        requests = [drift_pb2.CreateDriftRequest(drift=d, request_id=f"{prefix}{i}" if prefix else "") for i, d in enumerate(drifts)]
        response = await self.drifts.BatchCreateDrifts(drift_pb2.BatchCreateDriftsRequest(experiment_id=experiment_id, requests=requests))
        return list(response.drifts)

    async def get_drift(self, experiment_id: str, drift_id: str) -> drift_pb2.Drift:
        return await self.drifts.GetDrift(drift_pb2.GetDriftRequest(experiment_id=experiment_id, drift_id=drift_id))

    async def list_drifts(self, experiment_id: str, **fields: Any) -> drift_pb2.ListDriftsResponse:
        return await self.drifts.ListDrifts(drift_pb2.ListDriftsRequest(experiment_id=experiment_id, **fields))

    def update_drift(self, experiment_id: str, drift_id: str, paths: Sequence[str] | None = None, **fields: Any) -> Any:
        drift = drift_pb2.Drift(id=drift_id, experiment_id=experiment_id, **fields)
        mask = field_mask_pb2.FieldMask(paths=list(paths)) if paths is not None else None
        return self.drifts.UpdateDrift(drift_pb2.UpdateDriftRequest(drift=drift, update_mask=mask))

    def delete_drift(self, experiment_id: str, drift_id: str) -> Any:
        return self.drifts.DeleteDrift(drift_pb2.DeleteDriftRequest(experiment_id=experiment_id, drift_id=drift_id))

    def watch(self, experiment_id: str, resume_token: str = "", *, reading: bool = True) -> Watcher:
        return Watcher(self, experiment_id, resume_token, reading=reading)


def direct_api(channel: grpc.aio.Channel, persona: Persona | None, issuer: str) -> Api:
    """A persona's client straight to one server process, with the headers Envoy would add."""
    return Api(channel, gateway_metadata(persona.claims(issuer) if persona else None), persona)


async def walk_drifts(api: Api, experiment_id: str, page_size: int, on_page: Callable[[], Awaitable[Any]] | None = None, **fields: Any) -> list[drift_pb2.Drift]:
    """Every page of ListDrifts, following next_page_token; on_page runs after each page."""
    seen: list[drift_pb2.Drift] = []
    token = ""
    for _ in range(10_000):
        page = await api.list_drifts(experiment_id, page_size=page_size, page_token=token, **fields)
        seen += page.drifts
        if on_page is not None:
            await on_page()
        token = page.next_page_token
        if not token:
            return seen
    raise AssertionError("ListDrifts never returned an empty next_page_token")


async def walk_experiments(api: Api, page_size: int = 1000, **fields: Any) -> list[experiment_pb2.Experiment]:
    seen: list[experiment_pb2.Experiment] = []
    token = ""
    for _ in range(10_000):
        page = await api.list_experiments(page_size=page_size, page_token=token, **fields)
        seen += page.experiments
        token = page.next_page_token
        if not token:
            return seen
    raise AssertionError("ListExperiments never returned an empty next_page_token")


# -- errors --------------------------------------------------------------------------------------------


async def expect_error(code: grpc.StatusCode, call: Awaitable[Any], *, mentions: str = "") -> RpcError:
    """Await call, assert it fails with code and (optionally) that the message names something."""
    with pytest.raises(RpcError) as caught:
        await call
    error = caught.value
    assert error.code() == code, f"expected {code.name}, got {error.code().name}: {error.details()}"
    assert mentions in (error.details() or ""), f"{mentions!r} not in {error.details()!r}"
    return error


def bad_request_fields(error: RpcError) -> list[str]:
    """The fields named by the google.rpc.BadRequest detail of an error (empty when there is none)."""
    fields: list[str] = []
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:
                if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    bad = error_details_pb2.BadRequest()
                    detail.Unpack(bad)
                    fields += [violation.field for violation in bad.field_violations]
    return fields


# -- watching ------------------------------------------------------------------------------------------


class StreamEnded(Exception):
    """The server closed a watch stream with OK."""


class Watcher:
    """A WatchDrifts stream drained into a queue by a task, so every wait is bounded by a timeout
    without cancelling the stream itself (cancelling a pending aio read cancels the whole call)."""

    def __init__(self, api: Api, experiment_id: str, resume_token: str = "", *, reading: bool = True) -> None:
        request = drift_pb2.WatchDriftsRequest(experiment_id=experiment_id, resume_token=resume_token)
        self.call = api.drifts.WatchDrifts(request, timeout=180)
        self.items: asyncio.Queue[Any] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        if reading:
            self.start()

    def start(self) -> None:
        """Begin reading (a watcher made with reading=False leaves the server's messages unread)."""
        if self.task is None:
            self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for event in self.call:
                self.items.put_nowait(event)
            self.items.put_nowait(StreamEnded())
        except RpcError as error:
            self.items.put_nowait(error)

    async def next(self, timeout: float = 10) -> drift_pb2.WatchDriftsResponse:
        item = await asyncio.wait_for(self.items.get(), timeout)
        if isinstance(item, Exception):
            raise item
        return item

    async def ready(self, timeout: float = 10) -> drift_pb2.WatchDriftsResponse:
        """Wait for the first heartbeat: from then on the stream is subscribed and sees every change."""
        event = await self.next(timeout)
        assert event.type == HEARTBEAT, f"expected a heartbeat first, got {event}"
        return event

    async def changes(self, count: int, timeout: float = 20) -> list[drift_pb2.WatchDriftsResponse]:
        """The next count events that are not heartbeats."""
        out: list[drift_pb2.WatchDriftsResponse] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while len(out) < count:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"only {len(out)} of {count} events within {timeout} s")
            event = await self.next(remaining)
            if event.type != HEARTBEAT:
                out.append(event)
        return out

    async def quiet(self, seconds: float) -> list[drift_pb2.WatchDriftsResponse]:
        """Everything but heartbeats that arrives within seconds (the stream stays open)."""
        out: list[drift_pb2.WatchDriftsResponse] = []
        deadline = asyncio.get_running_loop().time() + seconds
        while (remaining := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                event = await self.next(remaining)
            except TimeoutError:
                break
            if event.type != HEARTBEAT:
                out.append(event)
        return out

    async def error(self, timeout: float = 10) -> RpcError:
        """Skip events until the stream fails; return the error."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                await self.next(max(0.01, deadline - asyncio.get_running_loop().time()))
            except RpcError as error:
                return error

    async def close(self) -> None:
        self.call.cancel()
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)

    async def __aenter__(self) -> Watcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


# -- ImportService requests that an admin's call succeeds with (each imports something new) --------------


def _stamp() -> Any:
    from google.protobuf import timestamp_pb2

    return timestamp_pb2.Timestamp(seconds=1_700_000_000)


def import_users() -> Any:
    from drift_monitoring.v1 import imports_pb2

    user = imports_pb2.ImportedUser(issuer="https://legacy.example.org", subject=unique("legacy"), create_time=_stamp())
    return imports_pb2.ImportUsersRequest(users=[user])


def import_experiment() -> Any:
    from drift_monitoring.v1 import imports_pb2

    return imports_pb2.ImportExperimentRequest(
        legacy_id=unique("legacy"), experiment=experiment_pb2.Experiment(name=unique("imported")), create_time=_stamp()
    )


def import_drifts(experiment_id: str) -> Any:
    from drift_monitoring.v1 import imports_pb2

    drift = imports_pb2.ImportedDrift(legacy_id=unique("legacy"), drift=drift_pb2.Drift(model="imported"), create_time=_stamp())
    return imports_pb2.ImportDriftsRequest(experiment_id=experiment_id, drifts=[drift])
