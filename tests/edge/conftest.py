"""The real edge: dev CA certificates, the sandbox OpenID issuer, Envoy from its wheel, and the server.

Every test here talks TLS to Envoy with real signed tokens, exactly as users do.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest

from sandbox.issuer.keys import KeyStore, persona_claims
from scripts import certs
from tests.conftest import ROOT, SECRET, ServerProcess, free_port

ENVOY = str(Path(sys.executable).parent / "envoy")


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


@dataclass
class Issuer:
    url: str
    keys: KeyStore
    state: Path

    def token(self, persona: str, **options) -> str:
        return self.keys.sign(persona_claims(persona, self.url, **options))


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("edge")


@pytest.fixture(scope="session")
def ca_pem(run_dir: Path) -> Path:
    return certs.ensure(run_dir / "certs")


@pytest.fixture(scope="session")
def issuer(run_dir: Path) -> Iterator[Issuer]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    state, log = run_dir / "issuer", run_dir / "issuer.log"
    keys = KeyStore(state)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "sandbox.issuer", "--state", str(state), "--issuer", url, "serve", "--listen", f"127.0.0.1:{port}"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )
    _wait(lambda: httpx.get(f"{url}/jwks").status_code == 200, "issuer", log)
    yield Issuer(url, keys, state)
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="session")
def backend(database_uri: str, issuer: Issuer) -> Iterator[ServerProcess]:
    process = ServerProcess(database_uri, DRIFT_MONITOR_TRUSTED_ISSUERS=issuer.url)
    yield process
    process.stop()


class Envoy:
    def __init__(self, run_dir: Path, name: str, backend: ServerProcess, issuer: Issuer, cert_dir: Path, *extra: str) -> None:
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


@pytest.fixture(scope="session")
def envoy(run_dir, backend, issuer, ca_pem) -> Iterator[Envoy]:
    edge = Envoy(run_dir, "envoy", backend, issuer, ca_pem.parent)
    yield edge
    edge.stop()


@pytest.fixture(scope="session")
def channel(envoy: Envoy, ca_pem: Path) -> Iterator[grpc.Channel]:
    credentials = grpc.ssl_channel_credentials(ca_pem.read_bytes())
    with grpc.secure_channel(f"localhost:{envoy.port}", credentials) as channel:
        yield channel


@pytest.fixture(scope="session")
def http(ca_pem: Path) -> Iterator[httpx.Client]:
    with httpx.Client(verify=ssl.create_default_context(cafile=str(ca_pem)), http1=True, http2=False, timeout=10) as client:
        yield client
