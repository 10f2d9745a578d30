"""`Client`: every RPC of the Drift Monitoring API with typed results, retries and one error tree."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import grpc
from google.api import httpbody_pb2
from google.protobuf import field_mask_pb2

from drift_monitoring.auth import TokenSource, token_source
from drift_monitoring.errors import RETRYABLE, DriftMonitorError, InvalidArgumentError, NotFoundError, from_rpc_error
from drift_monitoring.settings import Settings
from drift_monitoring.v1 import (
    alert_pb2,
    alert_pb2_grpc,
    drift_pb2,
    drift_pb2_grpc,
    experiment_pb2,
    experiment_pb2_grpc,
    user_pb2,
    user_pb2_grpc,
)

T = TypeVar("T")
MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # grpc's default receive limit, which the server keeps
ATTEMPT_TIMEOUT = 5.0  # seconds for one attempt, within the settings' overall bound
LEVELS = {"read": experiment_pb2.ACCESS_LEVEL_READ, "edit": experiment_pb2.ACCESS_LEVEL_EDIT, "manage": experiment_pb2.ACCESS_LEVEL_MANAGE}


class Client:
    """A connection to one Drift Monitoring server. Use as a context manager, or call close()."""

    def __init__(
        self, settings: Settings | None = None, *, tokens: TokenSource | None = None, channel: grpc.Channel | None = None, **overrides: Any
    ) -> None:
        """Settings from the environment, overridden by keyword arguments (url=, token=, ca_bundle=, ...).
        `channel` replaces the TLS channel the settings describe (tests script the server side with it)."""
        self.settings = settings or Settings.from_env(**overrides)
        self._tokens = tokens or token_source(self.settings)
        if channel is None:
            root = Path(self.settings.ca_bundle).read_bytes() if self.settings.ca_bundle else None
            channel = grpc.secure_channel(self.settings.target, grpc.ssl_channel_credentials(root))
        self._channel = channel
        self.experiments = experiment_pb2_grpc.ExperimentServiceStub(self._channel)
        self.drifts = drift_pb2_grpc.DriftServiceStub(self._channel)
        self.users = user_pb2_grpc.UserServiceStub(self._channel)
        self.alerts = alert_pb2_grpc.AlertServiceStub(self._channel)
        self._closed = False
        self._experiment_ids: dict[str, str] = {}
        self.verified_experiments: set[str] = set()  # where a run was created: later runs need not wait
        self._on_close: list[Callable[[], object]] = []

    # -- plumbing -------------------------------------------------------------------------------------

    def call(self, method: Callable[..., T], request: Any, *, retry: bool = True, budget: float | None = None) -> T:
        """One unary RPC. Retryable failures are retried with jittered exponential backoff until the
        budget (settings.timeout) is spent; only idempotent calls may pass retry=True."""
        if self._closed:
            raise DriftMonitorError("this Client is closed; create a new one")
        if (size := request.ByteSize()) > MAX_MESSAGE_BYTES:
            # The server would say RESOURCE_EXHAUSTED, which reads as "retry later": it never succeeds.
            raise InvalidArgumentError(f"request: {size} bytes is over the server's {MAX_MESSAGE_BYTES} byte message limit", "request")
        deadline = time.monotonic() + (self.settings.timeout if budget is None else budget)
        delay = 0.1
        while True:
            remaining = deadline - time.monotonic()
            try:
                return method(request, metadata=self._metadata(), timeout=max(0.05, min(ATTEMPT_TIMEOUT, remaining)))
            except grpc.RpcError as exc:
                if not retry or exc.code() not in RETRYABLE or remaining <= delay:
                    raise from_rpc_error(exc) from exc
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 2.0)

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        token = self._tokens.access_token()
        return (("authorization", f"Bearer {token}"),) if token else ()

    def on_close(self, callback: Callable[[], object]) -> None:
        """Run `callback` when the client closes, before its connection does (the layers above use it:
        a background sender finishes what it was given)."""
        self._on_close.append(callback)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Waits (up to settings.timeout) for runs still being sent, then closes the connection;
        what did not arrive stays in the spool."""
        if not self._closed:
            for callback in self._on_close:
                callback()
            self._closed = True
            self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- users ----------------------------------------------------------------------------------------

    def register(self, accept_terms: bool = True) -> user_pb2.User:
        return self.call(self.users.RegisterUser, user_pb2.RegisterUserRequest(accept_terms=accept_terms))

    def me(self) -> user_pb2.User:
        return self.call(self.users.GetCurrentUser, user_pb2.GetCurrentUserRequest())

    # -- experiments ----------------------------------------------------------------------------------

    def new_experiment(
        self, name: str, description: str = "", *, public: bool = False, grants: Iterable[tuple[str, str]] = ()
    ) -> experiment_pb2.Experiment:
        experiment = experiment_pb2.Experiment(
            name=name, description=description, public=public,
            grants=[experiment_pb2.Grant(entity=entity, level=LEVELS[level.lower()]) for entity, level in grants],
        )
        # Not retried: a lost reply would turn a retry into ALREADY_EXISTS.
        return self.call(self.experiments.CreateExperiment, experiment_pb2.CreateExperimentRequest(experiment=experiment), retry=False)

    def find_experiment(self, name: str) -> experiment_pb2.Experiment:
        """The experiment named exactly `name` (LookupExperiment: no filter text, so no `*` or quote is
        ever read as a pattern); NotFoundError when there is none you can see."""
        try:
            found = self.call(self.experiments.LookupExperiment, experiment_pb2.LookupExperimentRequest(name=name))
        except NotFoundError:
            raise NotFoundError(f"no experiment named {name!r} that you can see: create it with new_experiment() or check its name") from None
        if found.name != name:  # never record into another experiment, whatever answered
            raise DriftMonitorError(f"asked for experiment {name!r}, the server answered with {found.name!r}")
        return found

    def experiment_id(self, name: str) -> str:
        """find_experiment(name).id, remembered for this Client's lifetime (a job loop looks it up once)."""
        if name not in self._experiment_ids:
            self._experiment_ids[name] = self.find_experiment(name).id
        return self._experiment_ids[name]

    def list_experiments(self, filter: str = "", order_by: str = "") -> Iterator[experiment_pb2.Experiment]:  # noqa: A002
        request = experiment_pb2.ListExperimentsRequest(filter=filter, order_by=order_by, page_size=200)
        yield from self._pages(self.experiments.ListExperiments, request, "experiments")

    def update_experiment(self, experiment: experiment_pb2.Experiment, paths: Sequence[str]) -> experiment_pb2.Experiment:
        request = experiment_pb2.UpdateExperimentRequest(experiment=experiment, update_mask=field_mask_pb2.FieldMask(paths=list(paths)))
        return self.call(self.experiments.UpdateExperiment, request)

    def delete_experiment(self, experiment_id: str) -> None:
        self.call(self.experiments.DeleteExperiment, experiment_pb2.DeleteExperimentRequest(experiment_id=experiment_id))

    # -- drifts ---------------------------------------------------------------------------------------

    def create_drift(self, experiment_id: str, drift: drift_pb2.Drift, request_id: str, *, budget: float | None = None) -> drift_pb2.Drift:
        request = drift_pb2.CreateDriftRequest(experiment_id=experiment_id, drift=drift, request_id=request_id)
        return self.call(self.drifts.CreateDrift, request, budget=budget)  # safe to retry: request_id

    def update_drift(self, drift: drift_pb2.Drift, paths: Sequence[str], *, budget: float | None = None) -> drift_pb2.Drift:
        request = drift_pb2.UpdateDriftRequest(drift=drift, update_mask=field_mask_pb2.FieldMask(paths=list(paths)))
        return self.call(self.drifts.UpdateDrift, request, budget=budget)  # sets fields: idempotent

    def renew_lease(
        self, experiment_id: str, drift_id: str, lease_seconds: float | None = None, *, budget: float | None = None
    ) -> drift_pb2.RenewDriftLeaseResponse:
        """A heartbeat for a run: keeps it from becoming LOST for another lease (the run's own unless given).
        One attempt: the next heartbeat is the retry."""
        request = drift_pb2.RenewDriftLeaseRequest(experiment_id=experiment_id, drift_id=drift_id)
        if lease_seconds is not None:
            request.lease_duration.FromMilliseconds(round(lease_seconds * 1000))
        return self.call(self.drifts.RenewDriftLease, request, retry=False, budget=budget)

    def get_drift(self, experiment_id: str, drift_id: str) -> drift_pb2.Drift:
        return self.call(self.drifts.GetDrift, drift_pb2.GetDriftRequest(experiment_id=experiment_id, drift_id=drift_id))

    def list_drifts(self, experiment_id: str, filter: str = "", order_by: str = "") -> Iterator[drift_pb2.Drift]:  # noqa: A002
        request = drift_pb2.ListDriftsRequest(experiment_id=experiment_id, filter=filter, order_by=order_by, page_size=500)
        yield from self._pages(self.drifts.ListDrifts, request, "drifts")

    def delete_drift(self, experiment_id: str, drift_id: str) -> None:
        self.call(self.drifts.DeleteDrift, drift_pb2.DeleteDriftRequest(experiment_id=experiment_id, drift_id=drift_id))

    def watch_drifts(self, experiment_id: str, resume_token: str = "") -> Iterator[drift_pb2.WatchDriftsResponse]:
        """Changes as they happen, reconnecting with the last token after a disconnect (no gap, no repeat).
        OutOfRangeError when resume_token is older than the server's event log keeps: list the drifts
        again and watch from the present (resume_token="")."""
        while True:
            stream = self.drifts.WatchDrifts(
                drift_pb2.WatchDriftsRequest(experiment_id=experiment_id, resume_token=resume_token), metadata=self._metadata()
            )
            try:
                for event in stream:
                    resume_token = event.resume_token
                    yield event
                return
            except grpc.RpcError as exc:
                if exc.code() not in RETRYABLE and not _stream_reset(exc):
                    raise from_rpc_error(exc) from exc
                time.sleep(random.uniform(0.5, 1.5))
            finally:
                stream.cancel()

    def export_drifts(
        self, experiment_id: str, format: int, filter: str = "", *, csv_row_per_feature: bool = False, progress: bool = True  # noqa: A002
    ) -> Iterator[httpbody_pb2.HttpBody]:
        """The chunks of an export (drift_pb2.EXPORT_FORMAT_*), in order. Not retried: a stream cut midway
        raises, and the caller starts again (drift_monitoring.export writes a file only when complete)."""
        request = drift_pb2.ExportDriftsRequest(
            experiment_id=experiment_id, format=format, filter=filter, csv_row_per_feature=csv_row_per_feature, progress=progress)
        stream = self.drifts.ExportDrifts(request, metadata=self._metadata())
        try:
            yield from stream
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from exc
        finally:
            stream.cancel()

    # -- alert rules (docs/alerts.md) -----------------------------------------------------------------

    def create_alert_rule(self, experiment_id: str, rule: alert_pb2.AlertRule) -> alert_pb2.AlertRule:
        """The stored rule; a webhook rule's answer carries its signing secret, this once. Not retried: a
        retry after a lost answer would make a second rule."""
        return self.call(self.alerts.CreateAlertRule, alert_pb2.CreateAlertRuleRequest(experiment_id=experiment_id, rule=rule), retry=False)

    def list_alert_rules(self, experiment_id: str) -> Iterator[alert_pb2.AlertRule]:
        return self._pages(self.alerts.ListAlertRules, alert_pb2.ListAlertRulesRequest(experiment_id=experiment_id, page_size=100), "rules")

    def delete_alert_rule(self, experiment_id: str, rule_id: str) -> None:
        self.call(self.alerts.DeleteAlertRule, alert_pb2.DeleteAlertRuleRequest(experiment_id=experiment_id, rule_id=rule_id))

    def test_alert_rule(self, experiment_id: str, rule_id: str) -> alert_pb2.TestAlertRuleResponse:
        return self.call(self.alerts.TestAlertRule, alert_pb2.TestAlertRuleRequest(experiment_id=experiment_id, rule_id=rule_id), retry=False)

    def list_alert_firings(self, experiment_id: str, rule_id: str = "") -> Iterator[alert_pb2.AlertFiring]:
        request = alert_pb2.ListAlertFiringsRequest(experiment_id=experiment_id, rule_id=rule_id)
        return self._pages(self.alerts.ListAlertFirings, request, "firings")

    def _pages(self, method: Callable[..., Any], request: Any, field: str) -> Iterator[Any]:
        while True:
            page = self.call(method, request)
            yield from getattr(page, field)
            if not page.next_page_token:
                return
            request.page_token = page.next_page_token


def _stream_reset(exc: grpc.RpcError) -> bool:
    """A stream cut below gRPC: when the server dies mid-stream, Envoy can only reset the client's HTTP/2
    stream (there is no status to send after the first message), which grpc reports as INTERNAL
    "RST_STREAM". Resuming from the last token is right then; a real INTERNAL from the server is not."""
    return exc.code() == grpc.StatusCode.INTERNAL and "RST_STREAM" in (exc.details() or "")


__all__ = ["Client"]
