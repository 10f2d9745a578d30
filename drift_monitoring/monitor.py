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
import re
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from google.protobuf import json_format

from drift_monitoring.client import Client
from drift_monitoring.errors import DriftMonitorError, InvalidArgumentError, NotFoundError, UnavailableError
from drift_monitoring.settings import Settings
from drift_monitoring.spool import Spool, done
from drift_monitoring.v1 import drift_pb2

log = logging.getLogger("drift_monitoring")
RESULTS = ("concept_drift", "data_drift", "result")
SYNC_BUDGET = 2.0  # seconds a monitor spends sending earlier spooled runs before its own
# After a run found the server unreachable, the next runs within this many seconds go straight to the
# spool instead of each waiting out settings.timeout: a job loop must not slow down while the server is away.
BREAKER_SECONDS = 30.0


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


def _result(detected: Any, parameters: Mapping[str, Any] | None, features: Iterable[Any] | None) -> drift_pb2.DriftResult:
    result = drift_pb2.DriftResult(detected=bool(detected))
    if parameters:
        result.parameters.update(plain(parameters))
    for feature in features or ():
        if isinstance(feature, drift_pb2.FeatureResult):
            result.features.append(feature)
        else:
            result.features.add(**{k: plain(v) for k, v in feature.items() if v is not None})
    return result


def spool_for(settings: Settings) -> Spool:
    return Spool(settings.state_dir / "spool" / re.sub(r"[^A-Za-z0-9_.-]", "_", settings.target))


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
        self._own_client = client is None
        self._settings = settings
        self._experiment_id = ""
        self.offline = False

    # -- the context ----------------------------------------------------------------------------------

    def __enter__(self) -> DriftMonitor:
        if self._client is None:
            self._client = Client(**self._settings)
        self.drift.start_time.GetCurrentTime()
        if not self.strict and _recently_unreachable(self._client.settings):
            self.offline = True
            return self
        try:
            sync(self._client, budget=SYNC_BUDGET, quiet=True)
        except OSError as error:  # a spool we cannot touch must not stop the job before it starts
            log.warning("drift monitor: could not send spooled runs (%s)", error)
        try:
            self._experiment_id = self._client.find_experiment(self.experiment_name).id
            created = self._client.create_drift(self._experiment_id, self.drift, self.request_id)
            self.drift.id, self.drift.experiment_id = created.id, created.experiment_id
        except UnavailableError as exc:
            self._go_offline(exc)
        except DriftMonitorError:
            self._close_client()
            raise
        return self

    def concept(self, detected: Any, parameters: Mapping[str, Any] | None = None, *, features: Iterable[Any] | None = None) -> None:
        """Record concept drift: whether it was detected, and the detector's parameters and outputs."""
        self._record("concept_drift", _result(detected, parameters, features))

    def data(self, detected: Any, parameters: Mapping[str, Any] | None = None, *, features: Iterable[Any] | None = None) -> None:
        """Record data drift, optionally with per-feature test results ({feature, test, statistic, p_value, ...})."""
        self._record("data_drift", _result(detected, parameters, features))

    def __call__(self, detected: Any, parameters: Mapping[str, Any] | None = None, *, features: Iterable[Any] | None = None) -> None:
        """Record a single verdict, for jobs that report one (the 1.x client's `monitor(detected, parameters)`)."""
        self._record("result", _result(detected, parameters, features))

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            self.drift.end_time.GetCurrentTime()
            if exc is None:
                self.drift.status = drift_pb2.DRIFT_STATUS_COMPLETED
            else:
                self.drift.status = drift_pb2.DRIFT_STATUS_FAILED
                self.drift.error_message = f"{type(exc).__name__}: {exc}"[:4096]
            paths = ["status", "end_time", "error_message", *(r for r in RESULTS if self.drift.HasField(r))]
            self._send(paths)
        finally:
            self._close_client()

    # -- sending --------------------------------------------------------------------------------------

    def _record(self, field: str, result: drift_pb2.DriftResult) -> None:
        getattr(self.drift, field).CopyFrom(result)
        self._send([field])

    def _send(self, paths: list[str]) -> None:
        if not self.offline and self.drift.id:
            try:
                self._client.update_drift(self.drift, paths)  # type: ignore[union-attr]
                return
            except UnavailableError as exc:
                self._go_offline(exc)
        if self.offline and self.drift.status in (drift_pb2.DRIFT_STATUS_COMPLETED, drift_pb2.DRIFT_STATUS_FAILED):
            self._spool()  # once, with the final state: results recorded before it travel along

    def _go_offline(self, exc: Exception) -> None:
        if self.strict:
            raise exc
        log.warning("drift monitor: server unreachable (%s); this run is kept locally and sent later", exc)
        self.offline = True
        marker = _breaker(self._client.settings)  # type: ignore[union-attr]
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError as error:  # only an optimisation; the job runs on, and _spool reports a spool it cannot use
            log.warning("drift monitor: cannot write to %s (%s)", marker.parent, error)

    def _spool(self) -> None:
        record = {"experiment": self.experiment_name, "request_id": self.request_id, "drift": json_format.MessageToDict(self.drift)}
        spool = spool_for(self._client.settings)  # type: ignore[union-attr]
        try:
            path = spool.add(record)
        except OSError as exc:
            raise DriftMonitorError(
                f"drift monitor: the run of {self.experiment_name!r} (request_id {self.request_id}) could not be sent "
                f"(server unreachable) nor saved to the spool {spool.directory}: {exc}"
            ) from exc
        log.warning("drift monitor: run saved to %s; `drift-monitor sync` sends it", path)

    def _close_client(self) -> None:
        if self._own_client and self._client is not None:
            self._client.close()


def _breaker(settings: Settings) -> Path:
    return spool_for(settings).directory / ".unreachable"


def _recently_unreachable(settings: Settings) -> bool:
    try:
        return time.time() - _breaker(settings).stat().st_mtime < BREAKER_SECONDS
    except FileNotFoundError:
        return False


def sync(client: Client, *, budget: float | None = None, quiet: bool = False) -> tuple[int, int]:
    """Send spooled runs. Returns (sent, left). Stops at the first unreachable server."""
    spool = spool_for(client.settings)
    sent, experiments = 0, {}
    deadline = time.monotonic() + (budget if budget is not None else client.settings.timeout * 10)
    with spool.claim() as records:
        for path, record in records:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                name = record["experiment"]
                experiments[name] = experiments.get(name) or client.find_experiment(name).id
                drift = json_format.ParseDict(record["drift"], drift_pb2.Drift(), ignore_unknown_fields=True)
                drift.ClearField("id")
                created = client.create_drift(experiments[name], drift, record["request_id"], budget=remaining)
                if created.status != drift.status:  # the run was created before the server went away
                    drift.id, drift.experiment_id = created.id, created.experiment_id
                    paths = ["status", "end_time", "error_message", *(r for r in RESULTS if drift.HasField(r))]
                    client.update_drift(drift, paths, budget=remaining)
            except UnavailableError:
                break
            except (NotFoundError, InvalidArgumentError) as exc:  # will never succeed: keep it for a human
                log.error("drift monitor: spooled run %s refused (%s); kept as %s.rejected", path.name, exc, path.name)
                path.rename(path.with_name(path.name.split(".claimed-")[0] + ".rejected"))
                continue
            done(path)
            sent += 1
    if sent:
        _breaker(client.settings).unlink(missing_ok=True)  # the server is back
    left = spool.pending()
    if sent and not quiet:
        log.info("drift monitor: sent %d spooled run(s), %d left", sent, left)
    return sent, left
