"""`python -m server` on a free port (or a given one) behind nothing: only Envoy, or a test sending the
proxy secret exactly as Envoy does, gets in."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from stack.database import POSTGRESQL_URL, postgresql_url_for
from stack.service import ROOT, Service, free_port

SECRET = "stack-proxy-secret-0123456789"
ADMIN_ENTITLEMENT = "urn:drift-monitoring:group:admins"


class Server(Service):
    what = "server"

    def __init__(self, mongodb_uri: str, directory: Path | None = None, port: int | None = None, **env: str) -> None:
        self.port = port or free_port()
        self.target = f"127.0.0.1:{self.port}"
        environment = {
            **os.environ,
            "MONGODB_URI": mongodb_uri,
            "DRIFT_MONITOR_LISTEN": self.target,
            "DRIFT_MONITOR_PROXY_SECRET": SECRET,
            "DRIFT_MONITOR_ADMIN_ENTITLEMENTS": ADMIN_ENTITLEMENT,
            "DRIFT_MONITOR_HEARTBEAT_SECONDS": "1",
            # FerretDB's GIN indexes (server/ferretdb_indexes.py), when this process started that FerretDB
            POSTGRESQL_URL: postgresql_url_for(mongodb_uri),
            **env,
        }
        super().__init__(f"server-{self.port}", [sys.executable, "-m", "server"], directory or ROOT / ".run", environment)

    def health(self, timeout: float = 1.0) -> int:
        with grpc.insecure_channel(self.target) as channel:
            return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout).status

    def ready(self) -> bool:
        return self.health() == health_pb2.HealthCheckResponse.SERVING
