"""`DriftMonitor`: record one run of a drift-detection job, without ever breaking or losing the job.

    with DriftMonitor("credit-scoring", "xgb-v3") as monitor:
        monitor.concept(detected, parameters)
        monitor.data(detected, parameters, features=[...])

Entering creates the run (RUNNING); leaving completes it, or marks it FAILED with the exception's message
(the exception still propagates). When the server cannot be reached within settings.timeout, the run is
written to the local spool and the job goes on; the spool is sent by the next monitor or `drift-monitor
sync`, exactly once thanks to the run's request_id. strict=True raises instead.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import uuid
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import Any

from google.protobuf import json_format

from drift_monitoring.client import Client
from drift_monitoring.errors import DriftMonitorError, UnavailableError
from drift_monitoring.heartbeat import Run, lease_ms
from drift_monitoring.offline import SpoolBreaker, recently_unreachable, sender_for, spool_for
from drift_monitoring.sender import Op, flush_all
from drift_monitoring.settings import Settings
from drift_monitoring.v1 import drift_pb2

log = logging.getLogger("drift_monitoring")


def plain(value: Any) -> Any:
    """A JSON-compatible copy: numpy scalars and arrays, datetimes, paths, sets and nested containers.
    NaN and infinities become None (JSON has no such numbers)."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(item) for item in value]
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy arrays and scalars
        return plain(value.tolist())
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return None if isinstance(value, float) and not math.isfinite(value) else value
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def _result(detected: Any, parameters: Mapping[str, Any] | None, features: Iterable[Any] | None, options: Mapping[str, Any]) -> drift_pb2.DriftResult:
    if not _is_flag(detected):
        # A detector's result object (built-in report, Evidently, alibi-detect, NannyML, Frouros): converted
        # by drift_monitoring.integrations, with the caller's parameters and features added to its own.
        from drift_monitoring.integrations import to_verdict

        verdict = to_verdict(detected, **options)
        detected, parameters = verdict.detected, {**verdict.parameters, **(parameters or {})}
        features = [*verdict.features, *(features or ())]
    elif options:
        raise TypeError(f"unexpected keyword arguments {sorted(options)}: they are options of a detector's result object")
    result = drift_pb2.DriftResult(detected=bool(detected))
    if parameters:
        result.parameters.update(plain(parameters))
    for feature in features or ():
        if isinstance(feature, drift_pb2.FeatureResult):
            result.features.append(feature)
        else:
            result.features.add(**{k: plain(v) for k, v in feature.items() if v is not None})
    return result


def _is_flag(detected: Any) -> bool:
    """A plain verdict: a bool, a number, None, or a numpy scalar (np.bool_ has no Python base class)."""
    return detected is None or isinstance(detected, (bool, int, float)) or (
        type(detected).__module__ == "numpy" and getattr(detected, "ndim", None) == 0
    )


class DriftMonitor:
    def __init__(
        self,
        experiment_name: str,
        model_id: str,
        *,
        tags: Iterable[str] = (),
        client: Client | None = None,
        strict: bool = False,
        **settings: Any,
    ) -> None:
        self.experiment_name = experiment_name
        self.drift = drift_pb2.Drift(model=model_id, tags=list(tags))
        self.request_id = uuid.uuid4().hex
        self.strict = strict
        self._client = client
        self._settings = settings
        self._run: Run | None = None
        self.offline = False

    # -- the context ----------------------------------------------------------------------------------

    def __enter__(self) -> DriftMonitor:
        if self._client is None:
            self._client = shared_client(Settings.from_env(**self._settings))
        self.drift.start_time.GetCurrentTime()
        if self._client.settings.heartbeat:  # the sender renews it while the job runs (heartbeat.py)
            self.drift.lease_duration.FromMilliseconds(lease_ms(self._client.settings.heartbeat))
        if not self.strict and recently_unreachable(self._client.settings):
            self.offline = True
            return self
        try:
            experiment_id = self._client.experiment_id(self.experiment_name)
            self._run = Run(experiment_id, self.request_id)
            created = self._submit("create", [])
            # The first run per experiment waits for its creation, so a wrong setup (not registered, no
            # EDIT access) fails the job at once rather than in the background. Later runs do not wait.
            if self.strict or experiment_id not in self._client.verified_experiments:
                created.result()
                self._client.verified_experiments.add(experiment_id)
        except UnavailableError as exc:
            self._go_offline(exc)
        return self

    def concept(self, detected: Any, parameters: Mapping[str, Any] | None = None, *, features: Iterable[Any] | None = None, **options: Any) -> None:
        """Record concept drift: whether it was detected, and the detector's parameters and outputs; or a
        detector's result object (see drift_monitoring.integrations), with its adapter's options."""
        self._record("concept_drift", _result(detected, parameters, features, options))

    def data(self, detected: Any, parameters: Mapping[str, Any] | None = None, *, features: Iterable[Any] | None = None, **options: Any) -> None:
        """Record data drift, optionally with per-feature test results ({feature, test, statistic, p_value, ...});
        or a detector's result object: `monitor.data(report)` (see drift_monitoring.integrations)."""
        self._record("data_drift", _result(detected, parameters, features, options))

    def __call__(self, detected: Any, parameters: Mapping[str, Any] | None = None, *, features: Iterable[Any] | None = None, **options: Any) -> None:
        """Record a single verdict, for jobs that report one (the 1.x client's `monitor(detected, parameters)`)."""
        self._record("result", _result(detected, parameters, features, options))

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._run is not None:
            self._run.finished = True
            sender_for(self._client).heartbeat.discard(self._run)  # type: ignore[arg-type]
        self.drift.end_time.GetCurrentTime()
        if exc is None:
            self.drift.status = drift_pb2.DRIFT_STATUS_COMPLETED
        else:
            self.drift.status = drift_pb2.DRIFT_STATUS_FAILED
            self.drift.error_message = f"{type(exc).__name__}: {exc}"[:4096]
        if self.strict:
            self._submit("final", []).result()  # raises what the server said
            return
        # Spooled first (a crash of the job from here on loses nothing), then sent in the background;
        # the sender fsyncs what has to stay in the spool, so the job never waits for the disk either.
        try:
            spooled: Path | None = self._spool()
        except DriftMonitorError as exc:
            if self.offline:
                raise  # neither sent nor saved: the one case the job must hear about
            log.warning("%s; sending it without a local copy", exc)
            spooled = None
        self._submit("persist" if self.offline else "final", [], spooled)

    # -- sending --------------------------------------------------------------------------------------

    def _record(self, field: str, result: drift_pb2.DriftResult) -> None:
        getattr(self.drift, field).CopyFrom(result)
        if not self.offline:
            sent = self._submit("update", [field])
            if self.strict:
                sent.result()

    def _submit(self, kind: str, paths: list[str], spool_file: Path | None = None) -> Future:
        snapshot = drift_pb2.Drift()
        snapshot.CopyFrom(self.drift)
        run = self._run or Run("", self.request_id)  # offline before the experiment was found
        return sender_for(self._client).submit(Op(run, kind, snapshot, tuple(paths), spool_file))  # type: ignore[arg-type]

    def _go_offline(self, exc: Exception) -> None:
        if self.strict:
            raise exc
        log.warning("drift monitor: server unreachable (%s); this run is kept locally and sent later", exc)
        self.offline = True
        SpoolBreaker(self._client.settings).trip()  # type: ignore[union-attr]

    def _spool(self) -> Path:
        record = {"experiment": self.experiment_name, "request_id": self.request_id, "drift": json_format.MessageToDict(self.drift)}
        spool = spool_for(self._client.settings)  # type: ignore[union-attr]
        try:
            path = spool.add(record, durable=False)
        except OSError as exc:
            reason = "sent (server unreachable) nor saved" if self.offline else "saved"
            raise DriftMonitorError(
                f"drift monitor: the run of {self.experiment_name!r} (request_id {self.request_id}) could not be {reason} "
                f"to the spool {spool.directory}: {exc}"
            ) from exc
        if self.offline:
            log.warning("drift monitor: run saved to %s; `drift-monitor sync` sends it", path)
        return path


_SHARED: dict[Settings, Client] = {}
_SHARED_LOCK = threading.Lock()


def shared_client(settings: Settings) -> Client:
    """One Client per settings for monitors made without one: a job loop reuses the TLS connection,
    the cached access token, the experiment ids and the background sender."""
    with _SHARED_LOCK:
        client = _SHARED.get(settings)
        if client is None or client.closed:
            client = _SHARED[settings] = Client(settings)
        return client


def flush(timeout: float | None = None) -> bool:
    """Wait until every run recorded so far in this process has reached the server (or its spool file
    is all that is left of it). False if the timeout came first."""
    return flush_all(timeout)
