"""Clients bound to a persona, and small helpers for asserting on gRPC errors."""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import grpc
import pytest

from drift_monitoring.v1 import drift_pb2, drift_pb2_grpc, experiment_pb2, experiment_pb2_grpc, user_pb2, user_pb2_grpc
from sandbox import personas
from sandbox.issuer.keys import persona_claims
from tests.harness import SECRET, Issuer

Code = grpc.StatusCode
GROUP = "urn:drift-monitoring:group:ml-team"


class _Bound:
    """A stub whose calls carry one persona's metadata."""

    def __init__(self, stub: Any, metadata: tuple[tuple[str, str], ...]) -> None:
        self._stub, self._metadata = stub, metadata

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._stub, name)
        return lambda request, **kwargs: method(request, metadata=self._metadata, timeout=kwargs.pop("timeout", 10), **kwargs)


class Api:
    """The three services as one caller sees them: through Envoy with a signed token (edge_api), or
    straight to a server process with the headers Envoy would add (direct_api)."""

    def __init__(self, channel: grpc.Channel, metadata: tuple[tuple[str, str], ...], claims: dict[str, Any] | None) -> None:
        self.claims = claims
        self.experiments = _Bound(experiment_pb2_grpc.ExperimentServiceStub(channel), metadata)
        self.drifts = _Bound(drift_pb2_grpc.DriftServiceStub(channel), metadata)
        self.users = _Bound(user_pb2_grpc.UserServiceStub(channel), metadata)
        self.id = ""

    def register(self) -> Api:
        self.id = self.users.RegisterUser(user_pb2.RegisterUserRequest(accept_terms=True)).id
        return self

    # Shorthands for the calls most tests make.
    def create_experiment(self, name: str | None = None, **fields: Any) -> experiment_pb2.Experiment:
        experiment = experiment_pb2.Experiment(name=name or unique("exp"), **fields)
        return self.experiments.CreateExperiment(experiment_pb2.CreateExperimentRequest(experiment=experiment))

    def create_drift(self, experiment_id: str, request_id: str = "", **fields: Any) -> drift_pb2.Drift:
        fields.setdefault("model", "model-a")
        return self.drifts.CreateDrift(
            drift_pb2.CreateDriftRequest(experiment_id=experiment_id, drift=drift_pb2.Drift(**fields), request_id=request_id)
        )

    def list_drifts(self, experiment_id: str, **fields: Any) -> drift_pb2.ListDriftsResponse:
        return self.drifts.ListDrifts(drift_pb2.ListDriftsRequest(experiment_id=experiment_id, **fields))


def edge_api(channel: grpc.Channel, issuer: Issuer, claims: dict[str, Any] | None) -> Api:
    return Api(channel, (("authorization", f"Bearer {issuer.keys.sign(claims)}"),) if claims else (), claims)


def direct_api(channel: grpc.Channel, claims: dict[str, Any] | None, secret: str = SECRET) -> Api:
    return Api(channel, personas.gateway_metadata(secret, claims), claims)


def claims_for(subject: str, entitlements: list[str], issuer_url: str, name: str = "") -> dict[str, Any]:
    claims = persona_claims("reader", issuer_url)
    claims.update(sub=subject, name=name or subject, email=f"{subject}@example.org", eduperson_entitlement=entitlements)
    return claims


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def expect_error(code: grpc.StatusCode, call: Callable[[], Any], *, mentions: str = "") -> grpc.RpcError:
    """Run call, assert it fails with code, and (optionally) that the message names something."""
    with pytest.raises(grpc.RpcError) as caught:
        call()
    error = caught.value
    assert error.code() == code, f"expected {code}, got {error.code()}: {error.details()}"
    assert mentions in (error.details() or ""), f"{mentions!r} not in {error.details()!r}"
    return error


class Watcher:
    """A WatchDrifts stream read on a thread, so tests can wait for events with a timeout."""

    def __init__(self, api: Api, experiment_id: str, resume_token: str = "", *, read: bool = True) -> None:
        request = drift_pb2.WatchDriftsRequest(experiment_id=experiment_id, resume_token=resume_token)
        self.call = api.drifts.WatchDrifts(request, timeout=120)
        self.items: queue.Queue[Any] = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        if read:
            self.start()

    def start(self) -> None:
        self.thread.start()

    def _read(self) -> None:
        try:
            for event in self.call:
                self.items.put(event)
        except grpc.RpcError as error:
            self.items.put(error)

    def next(self, timeout: float = 10) -> drift_pb2.WatchDriftsResponse:
        item = self.items.get(timeout=timeout)
        if isinstance(item, grpc.RpcError):
            raise item
        return item

    def ready(self) -> drift_pb2.WatchDriftsResponse:
        """Wait for the first heartbeat: from then on the stream sees every change."""
        event = self.next()
        assert event.type == drift_pb2.DRIFT_EVENT_TYPE_HEARTBEAT, event
        return event

    def changes(self, count: int, timeout: float = 20) -> list[drift_pb2.WatchDriftsResponse]:
        out: list[drift_pb2.WatchDriftsResponse] = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            event = self.next(max(0.01, deadline - time.monotonic()))
            if event.type != drift_pb2.DRIFT_EVENT_TYPE_HEARTBEAT:
                out.append(event)
        return out

    def close(self) -> None:
        self.call.cancel()
