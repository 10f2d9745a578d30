"""The real components tests run against: server processes, the sandbox issuer, Envoy."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sandbox.issuer.keys import KeyStore, persona_claims

ROOT = Path(__file__).resolve().parent.parent
SECRET = "integration-tests-proxy-secret"
ADMIN_ENTITLEMENT = "urn:drift-monitoring:group:admins"
ENVOY = str(Path(sys.executable).parent / "envoy")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


POSTGRESQL_URL = "DRIFT_MONITOR_FERRETDB_POSTGRESQL_URL"


def ferretdb_postgresql_url(ferretdb_env: dict[str, str]) -> str:
    """The PostgreSQL of the FerretDB that scripts/ferretdb.sh started with this environment (FERRETDB_STATE)."""
    state = Path(ferretdb_env["FERRETDB_STATE"]) / "postgres"
    return subprocess.run(
        [str(ROOT / "scripts" / "postgres.sh"), "url"], env={**ferretdb_env, "PG_STATE": str(state)},
        check=True, capture_output=True, text=True,
    ).stdout.strip()


class ServerProcess:
    """A real `python -m server` on a free port (or a given one: a restart where Envoy expects it)."""

    def __init__(self, mongodb_uri: str, port: int | None = None, **env: str) -> None:
        self.port = port or free_port()
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


def _wait(check: Callable[[], bool], what: str, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what} did not start:\n{log.read_text()[-3000:]}")


class Issuer:
    """The sandbox OpenID provider as a process, with its keys at hand to sign test tokens."""

    def __init__(self, run_dir: Path) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.state, self.log = run_dir / f"issuer-{port}", run_dir / f"issuer-{port}.log"
        self.keys = KeyStore(self.state)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "sandbox.issuer", "--state", str(self.state), "--issuer", self.url, "serve", "--listen", f"127.0.0.1:{port}"],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            )
        _wait(lambda: httpx.get(f"{self.url}/jwks").status_code == 200, "issuer", self.log)

    def token(self, persona: str, **options) -> str:
        return self.keys.sign(persona_claims(persona, self.url, **options))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


class Envoy:
    def __init__(self, run_dir: Path, name: str, backend: ServerProcess, issuer: Issuer, cert_dir: Path, *extra: str) -> None:
        """Envoy rendered with the test profile, in front of backend, trusting issuer."""
        self.port, self.admin_port = free_port(), free_port()
        self.out = run_dir / name
        issuers = [{"name": "sandbox", "url": issuer.url, "jwks_uri": f"{issuer.url}/jwks", "audiences": ["drift-monitoring"], "cache_duration": "1s"}]
        subprocess.run(
            [sys.executable, str(ROOT / "envoy" / "render.py"), "--profile", "test", "--out", str(self.out),
             "--listen-port", str(self.port), "--admin-port", str(self.admin_port), "--backend", backend.target,
             "--proxy-secret", SECRET, "--issuers", json.dumps(issuers), "--cert-dir", str(cert_dir),
             "--cors-origins", "https://app.example.org", *extra],
            check=True, cwd=ROOT,
        )
        self.log = self.out / "envoy.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [ENVOY, "-c", str(self.out / "envoy.yaml"), "--use-dynamic-base-id", "--log-level", "warn"], stdout=out, stderr=subprocess.STDOUT
            )
        _wait(self._ready, "envoy", self.log)

    def _ready(self) -> bool:
        clusters = httpx.get(f"http://127.0.0.1:{self.admin_port}/clusters").text
        return httpx.get(f"http://127.0.0.1:{self.admin_port}/ready").text.strip() == "LIVE" and "backend_grpc::" in clusters and "health_flags::healthy" in clusters

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


