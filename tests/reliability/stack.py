"""A stack of a test's own whose parts can be SIGKILLed and restarted on the same address.

FerretDB (scripts/ferretdb.sh with its own FERRETDB_ADDR/FERRETDB_STATE; data survives a restart),
the server, the sandbox issuer and Envoy, each on fixed free ports chosen once, so Envoy's backend and
clients' URLs stay valid across restarts. The session fixtures of tests/conftest.py are never touched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from pathlib import Path
from typing import Any

import grpc
import httpx
import pymongo
from grpc_health.v1 import health_pb2, health_pb2_grpc

from drift_monitoring import Client
from tests.edge.stack import ADMIN_ENTITLEMENT, PYTHON, ROOT, SECRET, Envoy, Issuer, Process, free_port, wait_until

FERRETDB = str(ROOT / "scripts" / "ferretdb.sh")


class Restartable(Process):
    """A Process that remembers how it was started, so a test can kill it and bring it back."""

    def __init__(self, name: str, argv: list[str], directory: Path, env: dict[str, str] | None = None) -> None:
        self.argv, self.directory, self.env = argv, directory, env
        super().__init__(name, argv, directory, env)

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, as when a machine or the OOM killer takes it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def restart(self) -> None:
        self.kill()
        Process.__init__(self, self.name, self.argv, self.directory, self.env)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None


class Database:
    """FerretDB of our own; SIGKILL by the pid scripts/ferretdb.sh records."""

    def __init__(self, directory: Path) -> None:
        self.address = f"127.0.0.1:{free_port()}"
        self.state = directory / "ferretdb"
        self.env = {**os.environ, "FERRETDB_ADDR": self.address, "FERRETDB_STATE": str(self.state)}
        self.uri = f"mongodb://{self.address}/dm_rel_{uuid.uuid4().hex[:8]}"
        self.start()

    def start(self) -> None:
        subprocess.run([FERRETDB, "start"], check=True, env=self.env, cwd=ROOT, capture_output=True)

    def kill(self) -> None:
        pid_file = self.state / "pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
            except ProcessLookupError:
                pass

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        subprocess.run([FERRETDB, "stop"], check=False, env=self.env, cwd=ROOT, capture_output=True)

    def handle(self) -> pymongo.database.Database:
        return pymongo.MongoClient(self.uri, tz_aware=True, serverSelectionTimeoutMS=20_000).get_default_database()


class Server(Restartable):
    def __init__(self, directory: Path, mongodb_uri: str, **env: str) -> None:
        self.target = f"127.0.0.1:{free_port()}"
        environment = {
            **os.environ, "MONGODB_URI": mongodb_uri, "DRIFT_MONITOR_LISTEN": self.target, "DRIFT_MONITOR_PROXY_SECRET": SECRET,
            "DRIFT_MONITOR_ADMIN_ENTITLEMENTS": ADMIN_ENTITLEMENT, "DRIFT_MONITOR_HEARTBEAT_SECONDS": "1", **env,
        }
        super().__init__("server", [PYTHON, "-m", "server"], directory, environment)
        self.wait()

    def wait(self) -> None:
        wait_until(self.serving, "server", self.log, self.process)

    def serving(self) -> bool:
        with grpc.insecure_channel(self.target) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        return reply.status == health_pb2.HealthCheckResponse.SERVING

    def restart(self) -> None:
        super().restart()
        self.wait()


class RestartableIssuer(Issuer):
    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def restart(self) -> None:
        self.kill()
        port = self.url.rsplit(":", 1)[1]
        argv = [PYTHON, "-m", "sandbox.issuer", "serve", "--listen", f"127.0.0.1:{port}", "--state", str(self.state), "--issuer", self.url]
        Process.__init__(self, self.name, argv, self.log.parent)
        wait_until(lambda: httpx.get(f"{self.url}/jwks").status_code == 200, "issuer", self.log, self.process)


class RestartableEnvoy(Envoy):
    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def restart(self) -> None:
        self.kill()
        argv = [str(Path(PYTHON).parent / "envoy"), "-c", str(self.config), "--disable-hot-restart", "--log-level", "warn"]
        Process.__init__(self, self.name, argv, self.log.parent)
        wait_until(self.ready, "envoy", self.log, self.process)


class Stack:
    """Database, server, issuer and Envoy, all of this test's own."""

    def __init__(self, directory: Path, ca_pem: Path, *, cache_duration: str = "1s", **server_env: str) -> None:
        self.directory, self.ca_pem = directory, ca_pem
        self.database = Database(directory)
        self.issuer = RestartableIssuer(directory)
        self.server = Server(directory, self.database.uri, DRIFT_MONITOR_TRUSTED_ISSUERS=self.issuer.url, **server_env)
        provider = self.issuer.provider(cache_duration=cache_duration)
        self.envoy = RestartableEnvoy(directory, "envoy", self.server, [provider], ca_pem.parent, "--rate-limit", "100000")  # type: ignore[arg-type]

    def settings(self, persona: str = "manager", **settings: Any) -> dict[str, Any]:
        """Client settings for a persona through this stack's Envoy, with a spool of the persona's own."""
        return {"url": self.envoy.target, "ca_bundle": str(self.ca_pem), "token": self.issuer.token(persona),
                "state_dir": self.directory / f"state-{persona}", "timeout": 10, **settings}

    def client(self, persona: str = "manager", **settings: Any) -> Client:
        return Client(**self.settings(persona, **settings))

    def heal(self) -> None:
        """Bring back whatever a test left dead."""
        if self.issuer.process.poll() is not None:
            self.issuer.restart()
        self.database.start()
        if not self.server.alive:
            self.server.restart()
        if self.envoy.process.poll() is not None:
            self.envoy.restart()

    def stop(self) -> None:
        for part in (self.envoy, self.server, self.issuer):
            part.stop()
        self.database.stop()
