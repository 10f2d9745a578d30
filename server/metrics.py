"""Prometheus metrics of the server, served on DRIFT_MONITOR_METRICS_LISTEN (off when unset).

What is measured, and where:
- every RPC by service, method and status code: a count and a latency histogram (the interceptor);
- idempotent creates: drifts sent to CreateDrift/BatchCreateDrifts with a client request_id, labelled
  `created` or `replayed` (the request_id was already stored, so the first write's drift was answered) —
  replays are what a client's spool sync or retry after a lost answer looks like;
- the database: time each call waits for a pool thread and time it runs, by operation (Database.run);
- watch fan-out: active watchers, the tailer's position in the event log, and the lag from an event's
  write to its hand-over to watchers (EventLog);
- drift runs per experiment: runs created, and runs reaching COMPLETED/FAILED by whether drift was
  detected (events written by the drift service), for the Grafana drift dashboard. An edit to a run that
  has already finished counts it again; such edits are rare next to runs;
- lost runs per experiment: runs the lease sweeper moved to LOST, counted by the one process that did
  (kept apart from runs_finished, so a lost run that completes later does not skew the drift rate);
- expired runs per experiment and limit: runs the retention sweep deleted (server/retention.py), counted
  by the one process that deleted each.

Counting is always on (a few microseconds a call); only the HTTP endpoint depends on the setting.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)

R = TypeVar("R")

# Sub-millisecond database reads up to multi-second stalls.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Watch streams live for hours; their histogram still needs a top bucket that means "long".
STREAM_BUCKETS = (*LATENCY_BUCKETS, 30.0, 60.0, 300.0, 900.0, 3600.0)
IDEMPOTENT_METHODS = {"CreateDrift", "BatchCreateDrifts"}
FINISHED = {"COMPLETED", "FAILED"}
RESULT_FIELDS = ("concept_drift", "data_drift", "result")

RPCS = Counter("drift_monitor_grpc_handled", "RPCs completed, by method and status code", ["service", "method", "code"])
RPC_SECONDS = Histogram(
    "drift_monitor_grpc_handling_seconds", "Time from the call's start to its status", ["service", "method", "code"], buckets=STREAM_BUCKETS
)
IDEMPOTENT_CREATES = Counter(
    "drift_monitor_idempotent_creates", "Drifts sent with a client request_id: created, or replayed (already stored)", ["method", "outcome"]
)
DB_WAIT = Histogram("drift_monitor_db_wait_seconds", "Time a database call waits for a pool thread", buckets=LATENCY_BUCKETS)
DB_SECONDS = Histogram("drift_monitor_db_seconds", "Time a database call runs, by operation", ["operation", "outcome"], buckets=LATENCY_BUCKETS)
WATCHERS = Gauge("drift_monitor_watchers", "WatchDrifts streams open on this process")
EVENT_POSITION = Gauge("drift_monitor_event_log_position", "Highest event-log seq handed to this process's watchers")
EVENT_LAG = Histogram("drift_monitor_event_log_lag_seconds", "From an event's write to its hand-over to watchers", buckets=LATENCY_BUCKETS)
RUNS_CREATED = Counter("drift_monitor_runs_created", "Drift runs created, by experiment id", ["experiment"])
RUNS_FINISHED = Counter(
    "drift_monitor_runs_finished", "Drift runs written as COMPLETED or FAILED, by experiment id and drift detected", ["experiment", "status", "drift"]
)
ALERTS_FIRING = Gauge("drift_monitor_alerts_firing", "Alerts (rule and group) in the FIRING state, as of this process's last full evaluation")
ALERT_NOTIFICATIONS = Counter("drift_monitor_alert_notifications", "Alert notifications this process put in the outbox, by kind", ["kind"])
ALERT_DELIVERIES = Counter("drift_monitor_alert_deliveries", "Alert delivery attempts this process made, by outcome", ["outcome"])
ALERT_DELIVERY_SECONDS = Histogram(
    "drift_monitor_alert_delivery_seconds", "From a notification's creation to its delivery", buckets=(*LATENCY_BUCKETS, 30.0, 60.0, 300.0, 3600.0)
)
RUNS_EXPIRED = Counter(
    "drift_monitor_runs_expired", "Drift runs this process deleted by the experiment's retention, by experiment id and limit (age, count)",
    ["experiment", "reason"],
)
RUNS_LOST = Counter("drift_monitor_runs_lost", "Drift runs this process moved to LOST (lease expired), by experiment id", ["experiment"])


def serve(listen: str) -> Callable[[], None]:
    """Start the /metrics HTTP endpoint on host:port; returns its stop function."""
    host, _, port = listen.rpartition(":")
    server, thread = start_http_server(int(port), host.strip("[]") or "0.0.0.0", REGISTRY)
    log.info("metrics on http://%s/metrics", listen)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return stop


# -- RPCs -----------------------------------------------------------------------------------------


def _now_ms() -> datetime:
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _count_idempotent(method: str, request: Any, response: Any, started: datetime) -> None:
    """A replayed request_id is answered with the drift the first request stored, created before this call."""
    if method == "CreateDrift":
        pairs = [(request.request_id, response)]
    else:
        pairs = list(zip((item.request_id for item in request.requests), response.drifts, strict=False))
    for request_id, drift in pairs:
        if request_id:
            replayed = drift.create_time.ToDatetime(tzinfo=UTC) < started
            IDEMPOTENT_CREATES.labels(method, "replayed" if replayed else "created").inc()


@functools.lru_cache(maxsize=1024)
def _rpc_series(service: str, method: str, code: str) -> tuple[Any, Any]:
    """The labelled children, looked up once: labels() takes a lock and builds a key on every call."""
    return RPCS.labels(service, method, code), RPC_SECONDS.labels(service, method, code)


@functools.lru_cache(maxsize=256)
def _db_series(operation: str, outcome: str) -> Any:
    return DB_SECONDS.labels(operation, outcome)


class RpcMetrics(grpc.aio.ServerInterceptor):
    """Counts and times every call by (service, method, status code)."""

    async def intercept_service(self, continuation, handler_call_details):  # type: ignore[no-untyped-def]
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        service, _, method = handler_call_details.method.lstrip("/").rpartition("/")
        service = service.rsplit(".", 1)[-1]
        kwargs = {"request_deserializer": handler.request_deserializer, "response_serializer": handler.response_serializer}

        def finish(context: grpc.aio.ServicerContext, start: float, error: BaseException | None) -> None:
            code = context.code()
            if code is None and isinstance(error, asyncio.CancelledError):
                code = grpc.StatusCode.CANCELLED  # the client went away (or the server is stopping)
            elif code is None:
                code = grpc.StatusCode.OK if error is None else grpc.StatusCode.UNKNOWN
            if isinstance(code, int):  # set_code() with a raw number
                code = next((c for c in grpc.StatusCode if c.value[0] == code), grpc.StatusCode.UNKNOWN)
            count, seconds = _rpc_series(service, method, code.name)
            count.inc()
            seconds.observe(time.perf_counter() - start)

        if handler.unary_unary:
            behavior = handler.unary_unary

            async def unary(request, context):  # type: ignore[no-untyped-def]
                start, started, error = time.perf_counter(), _now_ms(), None
                try:
                    response = await behavior(request, context)
                    if method in IDEMPOTENT_METHODS and service == "DriftService":
                        _count_idempotent(method, request, response, started)
                    return response
                except BaseException as exc:
                    error = exc
                    raise
                finally:
                    finish(context, start, error)

            return grpc.unary_unary_rpc_method_handler(unary, **kwargs)
        if handler.unary_stream:
            stream_behavior = handler.unary_stream

            async def stream(request, context) -> AsyncIterator[Any]:  # type: ignore[no-untyped-def]
                start, error = time.perf_counter(), None
                try:
                    result = stream_behavior(request, context)
                    if hasattr(result, "__aiter__"):
                        async for item in result:
                            yield item
                    else:  # a coroutine that writes with context.write (grpc's health Watch)
                        await result
                except BaseException as exc:
                    error = exc
                    raise
                finally:
                    finish(context, start, error)

            return grpc.unary_stream_rpc_method_handler(stream, **kwargs)
        return handler  # no client-streaming RPCs in this API


# -- database -------------------------------------------------------------------------------------


def timed(fn: Callable[..., R], call: Callable[[], R]) -> Callable[[], R]:
    """`call` (a bound fn) wrapped to record its wait for a pool thread and its run time under fn's name."""
    operation = getattr(fn, "__name__", "call").lstrip("_") or "call"
    queued = time.perf_counter()

    @functools.wraps(call)
    def run() -> R:
        start = time.perf_counter()
        DB_WAIT.observe(start - queued)
        outcome = "error"
        try:
            result = call()
            outcome = "ok"
            return result
        finally:
            _db_series(operation, outcome).observe(time.perf_counter() - start)

    return run


# -- event log ------------------------------------------------------------------------------------


def watch_event_log(count_watchers: Callable[[], int], position: Callable[[], int]) -> None:
    """Read the watcher count and tailer position when scraped (the last EventLog started wins)."""
    WATCHERS.set_function(count_watchers)
    EVENT_POSITION.set_function(position)


def delivered(times: Iterable[datetime | None]) -> None:
    moment = datetime.now(UTC)
    for written in times:
        if written is not None:
            EVENT_LAG.observe(max(0.0, (moment - written).total_seconds()))


def run_lost(experiment: object) -> None:
    RUNS_LOST.labels(str(experiment)).inc()


def runs_expired(experiment: object, by_reason: Mapping[str, int]) -> None:
    for reason, count in by_reason.items():
        if count:
            RUNS_EXPIRED.labels(str(experiment), reason).inc(count)


def _detected(doc: Mapping[str, Any]) -> bool:
    return any((doc.get(field) or {}).get("detected") for field in RESULT_FIELDS)


def drifts_written(experiment: object, type_: str, drifts: Iterable[Mapping[str, Any]]) -> None:
    label = str(experiment)
    for doc in drifts:
        if type_ == "CREATED":
            RUNS_CREATED.labels(label).inc()
        if type_ in ("CREATED", "UPDATED") and doc.get("status") in FINISHED:
            RUNS_FINISHED.labels(label, doc["status"], "true" if _detected(doc) else "false").inc()


# -- alerts ---------------------------------------------------------------------------------------


def alerts_firing(count: int) -> None:
    ALERTS_FIRING.set(count)


def alert_notified(kind: str) -> None:
    ALERT_NOTIFICATIONS.labels(kind).inc()


def alert_delivery(outcome: str) -> None:
    ALERT_DELIVERIES.labels(outcome).inc()


def alert_delivery_latency(seconds: float) -> None:
    ALERT_DELIVERY_SECONDS.observe(max(0.0, seconds))
