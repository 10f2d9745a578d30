"""Fixtures that start the real components: FerretDB (via scripts/ferretdb.sh) and server processes.

Identity is sent exactly as Envoy sends it (sandbox.personas.gateway_metadata), until the edge tests
take over that part.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pymongo
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent
SECRET = "integration-tests-proxy-secret"
ADMIN_ENTITLEMENT = "urn:drift-monitoring:group:admins"


def _mongo_base() -> str:
    """MONGODB_URI without its database: tests make a database of their own on that server."""
    scheme, rest = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017").split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _pingable(uri: str) -> bool:
    try:
        pymongo.MongoClient(uri, serverSelectionTimeoutMS=1000).admin.command("ping")
        return True
    except pymongo.errors.PyMongoError:
        return False


@pytest.fixture(scope="session")
def mongo_base() -> Iterator[str]:
    """The database server: MONGODB_URI's if it answers, else FerretDB started here (and stopped after)."""
    base = _mongo_base()
    if _pingable(base):
        yield base
        return
    script = str(ROOT / "scripts" / "ferretdb.sh")
    subprocess.run([script, "start"], check=True)
    assert _pingable(base), f"no MongoDB-wire database answers at {base}"
    yield base
    subprocess.run([script, "stop"], check=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """A real `python -m server` on a free port."""

    def __init__(self, mongodb_uri: str, **env: str) -> None:
        self.port = free_port()
        self.target = f"127.0.0.1:{self.port}"
        self.log = ROOT / ".run" / f"test-server-{self.port}.log"
        self.log.parent.mkdir(exist_ok=True)
        environment = {
            **os.environ,
            "MONGODB_URI": mongodb_uri,
            "DRIFT_MONITOR_LISTEN": self.target,
            "DRIFT_MONITOR_PROXY_SECRET": SECRET,
            "DRIFT_MONITOR_ADMIN_ENTITLEMENTS": ADMIN_ENTITLEMENT,
            "DRIFT_MONITOR_HEARTBEAT_SECONDS": "1",
            **env,
        }
        with self.log.open("wb") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "server"], cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT)
        self.wait_serving()

    def health(self, timeout: float = 1.0) -> int:
        with grpc.insecure_channel(self.target) as channel:
            return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout).status

    def wait_serving(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if self.health() == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"server did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


@pytest.fixture(scope="session")
def database_uri(mongo_base: str) -> Iterator[str]:
    name = f"dm_test_{uuid.uuid4().hex[:10]}"
    yield f"{mongo_base}/{name}"
    pymongo.MongoClient(mongo_base).drop_database(name)


@pytest.fixture(scope="session")
def server(database_uri: str) -> Iterator[ServerProcess]:
    process = ServerProcess(database_uri)
    yield process
    process.stop()


@pytest.fixture(scope="session")
def start_server(database_uri: str) -> Iterator:
    """Start extra server processes on the same database; all are stopped at the end."""
    started: list[ServerProcess] = []

    def start(**env: str) -> ServerProcess:
        started.append(ServerProcess(database_uri, **env))
        return started[-1]

    yield start
    for process in started:
        process.stop(signal.SIGKILL)


@pytest.fixture(scope="session")
def db(database_uri: str) -> pymongo.database.Database:
    return pymongo.MongoClient(database_uri, tz_aware=True).get_default_database()
