"""Assemble and run the gRPC server: services, health, reflection, graceful shutdown.

Shutdown (SIGTERM or SIGINT): health turns NOT_SERVING so Envoy stops routing here, watch streams
end with UNAVAILABLE (clients resume elsewhere from their last token), in-flight calls get up to
DRIFT_MONITOR_GRACE_SECONDS to finish, then the process exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from drift_monitoring.v1 import (
    alert_pb2,
    alert_pb2_grpc,
    audit_pb2,
    audit_pb2_grpc,
    drift_pb2,
    drift_pb2_grpc,
    experiment_pb2,
    experiment_pb2_grpc,
    imports_pb2,
    imports_pb2_grpc,
    user_pb2,
    user_pb2_grpc,
)
from server import metrics, ordinals
from server.db import Database
from server.decoding import RefuseUndecodable
from server.events import EventLog
from server.alerts.evaluator import Evaluator
from server.alerts.outbox import Outbox
from server.leases import LeaseSweeper
from server.models import Drift, LeaseClaim
from server.services.common import Deps
from server.services.drifts import DriftService
from server.services.alerts import AlertService
from server.services.audit_events import AuditService
from server.services.experiments import ExperimentService
from server.services.imports import ImportService
from server.services.users import UserService
from server.settings import Settings
from server.sweeper import Sweeper
from server.userinfo import UserInfo

log = logging.getLogger("server")

SERVICE_NAMES = (
    experiment_pb2.DESCRIPTOR.services_by_name["ExperimentService"].full_name,
    drift_pb2.DESCRIPTOR.services_by_name["DriftService"].full_name,
    user_pb2.DESCRIPTOR.services_by_name["UserService"].full_name,
    imports_pb2.DESCRIPTOR.services_by_name["ImportService"].full_name,
    audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name,
    alert_pb2.DESCRIPTOR.services_by_name["AlertService"].full_name,
)
DRAIN_SECONDS = 1.0
# Keep idle streams alive through proxies and detect dead peers.
SERVER_OPTIONS = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
]


class Drain(grpc.aio.ServerInterceptor):
    """Once draining, new calls are refused with UNAVAILABLE (retryable, unlike the CANCELLED that
    grpc's own stop gives calls it has accepted but not yet started)."""

    def __init__(self) -> None:
        self.draining = False

    async def intercept_service(self, continuation, handler_call_details):  # type: ignore[no-untyped-def]
        handler = await continuation(handler_call_details)
        if not self.draining or handler is None or handler_call_details.method.startswith("/grpc.health"):
            return handler

        async def refuse(request, context):  # type: ignore[no-untyped-def]
            await context.abort(grpc.StatusCode.UNAVAILABLE, "server is shutting down; retry")

        async def refuse_stream(request, context):  # type: ignore[no-untyped-def]
            await context.abort(grpc.StatusCode.UNAVAILABLE, "server is shutting down; retry")
            yield  # pragma: no cover - makes this an async generator

        kwargs = {"request_deserializer": handler.request_deserializer, "response_serializer": handler.response_serializer}
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(refuse_stream, **kwargs)
        return grpc.unary_unary_rpc_method_handler(refuse, **kwargs)


@dataclass
class App:
    server: grpc.aio.Server
    port: int
    deps: Deps
    health: health.aio.HealthServicer
    drain: Drain
    sweeper: Sweeper | None = None
    lease_sweeper: LeaseSweeper | None = None
    stop_metrics: Callable[[], None] | None = None
    evaluator: Evaluator | None = None
    outbox: Outbox | None = None

    async def stop(self) -> None:
        self.drain.draining = True
        for name in ("", *SERVICE_NAMES):
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        self.deps.events.close_watchers()
        # Calls already running get a moment to finish before grpc's stop cancels what is left.
        await asyncio.sleep(min(DRAIN_SECONDS, self.deps.settings.grace_seconds))
        await self.server.stop(self.deps.settings.grace_seconds)
        if self.sweeper is not None:
            await self.sweeper.stop()
        if self.lease_sweeper is not None:
            await self.lease_sweeper.stop()
        for part in (self.evaluator, self.outbox):
            if part is not None:
                await part.stop()
        await self.deps.events.stop()
        await self.deps.userinfo.close()
        await asyncio.to_thread(self.deps.db.close)
        if self.stop_metrics is not None:
            self.stop_metrics()


async def create_server(settings: Settings) -> App:
    """Connect to the database and start serving on settings.listen (port 0 picks a free port)."""
    db = Database(settings.mongodb_uri, settings.db_threads, settings.ferretdb_postgresql_url)
    await asyncio.to_thread(db.connect)
    await db.run(ordinals.backfill, Drift._get_collection())
    events = EventLog(db, settings.event_poll_seconds, settings.watch_queue_size, settings.event_retention)
    await events.start()
    userinfo = UserInfo(settings.trusted_issuers, settings.ca_bundle)
    deps = Deps(settings=settings, db=db, events=events, userinfo=userinfo)

    drain = Drain()
    # RpcMetrics first: it also sees the calls Drain refuses.
    server = grpc.aio.server(options=SERVER_OPTIONS, interceptors=[metrics.RpcMetrics(), drain, RefuseUndecodable()])
    experiment_pb2_grpc.add_ExperimentServiceServicer_to_server(ExperimentService(deps), server)
    drift_pb2_grpc.add_DriftServiceServicer_to_server(DriftService(deps), server)
    user_pb2_grpc.add_UserServiceServicer_to_server(UserService(deps), server)
    imports_pb2_grpc.add_ImportServiceServicer_to_server(ImportService(deps), server)
    audit_pb2_grpc.add_AuditServiceServicer_to_server(AuditService(deps), server)
    outbox = Outbox(db, settings)
    alert_pb2_grpc.add_AlertServiceServicer_to_server(AlertService(deps, outbox), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection((*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    port = server.add_insecure_port(settings.listen)
    await server.start()
    for name in ("", *SERVICE_NAMES):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    sweeper = Sweeper(db, settings.sweep_seconds, settings.audit_retention_days, events)
    sweeper.start()
    stop_metrics = metrics.serve(settings.metrics_listen) if settings.metrics_listen else None
    lease_sweeper = LeaseSweeper(db, events, Drift._get_collection, LeaseClaim._get_collection, settings.lease_sweep_seconds)
    lease_sweeper.start()
    evaluator = Evaluator(db, settings, outbox.wake)
    events.add_listener(evaluator.on_events)
    evaluator.start()
    outbox.start()
    return App(server, port, deps, health_servicer, drain, sweeper, lease_sweeper, stop_metrics, evaluator, outbox)


async def serve(settings: Settings) -> None:
    app = await create_server(settings)
    host = settings.listen.rsplit(":", 1)[0]
    log.info("drift-monitoring server listening on %s:%d", host, app.port)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await stopping.wait()
        log.info("shutting down: draining for up to %.0f s", settings.grace_seconds)
    finally:
        await app.stop()
    log.info("stopped")
