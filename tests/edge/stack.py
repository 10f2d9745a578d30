"""The real processes edge tests run against: FerretDB, the server, the sandbox issuer and Envoy.

Every process gets free ports and a directory of its own, so edge tests run beside other test sessions
and a `make up` stack without touching them. Logs stay in the directory for post-mortems.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sandbox.issuer.keys import KeyStore, persona_claims

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
ENVOY = str(Path(sys.executable).parent / "envoy")
SECRET = "edge-tests-proxy-secret-0123456789"
ADMIN_ENTITLEMENT = "urn:drift-monitoring:group:admins"
AUDIENCE = "drift-monitoring"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], what: str, log: Path, process: subprocess.Popen[bytes] | None = None,
               timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        try:
            if check():
                return
        except (OSError, httpx.HTTPError, grpc.RpcError):
            pass
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)"
    raise AssertionError(f"{what} did not become ready:\n{tail}")


class Process:
    """A child process with its output in a log file."""

    def __init__(self, name: str, argv: list[str], directory: Path, env: dict[str, str] | None = None) -> None:
        self.name, self.log = name, directory / f"{name}.log"
        directory.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class FerretDB:
    """MONGODB_URI's server when set; else a FerretDB of our own on a free port (scripts/ferretdb.sh)."""

    def __init__(self, directory: Path) -> None:
        self.started = "MONGODB_URI" not in os.environ
        if not self.started:
            scheme, rest = os.environ["MONGODB_URI"].split("://", 1)
            self.base = f"{scheme}://{rest.split('/', 1)[0].split('?', 1)[0]}"
            return
        address = f"127.0.0.1:{free_port()}"
        self.env = {**os.environ, "FERRETDB_ADDR": address, "FERRETDB_STATE": str(directory / "ferretdb")}
        subprocess.run([str(ROOT / "scripts" / "ferretdb.sh"), "start"], check=True, env=self.env, cwd=ROOT)
        self.base = f"mongodb://{address}"

    def database_uri(self) -> str:
        return f"{self.base}/dm_edge_{uuid.uuid4().hex[:10]}"

    def stop(self) -> None:
        if self.started:
            subprocess.run([str(ROOT / "scripts" / "ferretdb.sh"), "stop"], check=False, env=self.env, cwd=ROOT)


class Server(Process):
    """`python -m server` on a free port, behind nothing: only Envoy (or a test sending the secret) gets in."""

    def __init__(self, directory: Path, mongodb_uri: str, **env: str) -> None:
        self.port = free_port()
        self.target = f"127.0.0.1:{self.port}"
        environment = {
            **os.environ,
            "MONGODB_URI": mongodb_uri,
            "DRIFT_MONITOR_LISTEN": self.target,
            "DRIFT_MONITOR_PROXY_SECRET": SECRET,
            "DRIFT_MONITOR_ADMIN_ENTITLEMENTS": ADMIN_ENTITLEMENT,
            "DRIFT_MONITOR_HEARTBEAT_SECONDS": "1",
            **env,
        }
        super().__init__(f"server-{self.port}", [PYTHON, "-m", "server"], directory, environment)
        wait_until(self.serving, "server", self.log, self.process)

    def serving(self) -> bool:
        with grpc.insecure_channel(self.target) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        return reply.status == health_pb2.HealthCheckResponse.SERVING


class Issuer(Process):
    """The sandbox OpenID provider, with its key store at hand to sign test tokens directly."""

    def __init__(self, directory: Path, *extra: str) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.state = directory / f"issuer-{port}"
        self.keys = KeyStore(self.state)
        argv = [PYTHON, "-m", "sandbox.issuer", "serve", "--listen", f"127.0.0.1:{port}", "--state", str(self.state),
                "--issuer", self.url, *extra]
        super().__init__(f"issuer-{port}", argv, directory)
        wait_until(lambda: httpx.get(f"{self.url}/jwks").status_code == 200, "issuer", self.log, self.process)

    def claims(self, persona: str, **options: Any) -> dict[str, Any]:
        return persona_claims(persona, self.url, **options)

    def token(self, persona: str, **options: Any) -> str:
        return self.keys.sign(self.claims(persona, **options))

    def provider(self, name: str = "sandbox", cache_duration: str = "600s", **extra: Any) -> dict[str, Any]:
        """This issuer as an entry of envoy/render.py's issuer list."""
        return {"name": name, "url": self.url, "jwks_uri": f"{self.url}/jwks", "audiences": [AUDIENCE],
                "cache_duration": cache_duration, **extra}


class Envoy(Process):
    """Envoy rendered with the test profile in front of a server, trusting the given issuers.

    issuers: an Issuer (trusted with a 1 s JWKS cache, so key rotation shows quickly) or render.py's list.
    """

    def __init__(self, directory: Path, name: str, backend: Server, issuers: Issuer | list[dict[str, Any]],
                 cert_dir: Path, *extra: str) -> None:
        if isinstance(issuers, Issuer):
            issuers = [issuers.provider(cache_duration="1s")]
        self.port, self.admin_port = free_port(), free_port()
        self.out = directory / name
        subprocess.run(
            [PYTHON, str(ROOT / "envoy" / "render.py"), "--profile", "test", "--out", str(self.out),
             "--listen-port", str(self.port), "--admin-port", str(self.admin_port), "--backend", backend.target,
             "--proxy-secret", SECRET, "--issuers", json.dumps(issuers), "--cert-dir", str(cert_dir),
             "--cors-origins", "https://app.example.org", *extra],
            check=True, cwd=ROOT, capture_output=True,
        )
        self.config = self.out / "envoy.yaml"
        super().__init__(name, [ENVOY, "-c", str(self.config), "--disable-hot-restart", "--log-level", "warn"], directory)
        wait_until(self.ready, "envoy", self.log, self.process)

    def admin(self, path: str) -> str:
        return httpx.get(f"http://127.0.0.1:{self.admin_port}{path}", timeout=5).text

    def ready(self) -> bool:
        return self.admin("/ready").strip() == "LIVE" and "backend_grpc::" in (clusters := self.admin("/clusters")) \
            and "health_flags::healthy" in clusters

    def stat(self, name: str) -> int:
        for line in self.admin(f"/stats?filter=^{name}$").splitlines():
            key, _, value = line.partition(": ")
            if key == name:
                return int(value)
        return 0

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"

    @property
    def target(self) -> str:
        return f"localhost:{self.port}"
