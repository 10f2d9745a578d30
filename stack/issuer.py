"""The sandbox OpenID provider as a process, with its key store at hand to sign test tokens directly."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx

from sandbox.issuer.keys import KeyStore, persona_claims
from stack.service import Service, free_port

AUDIENCE = "drift-monitoring"


class Issuer(Service):
    what = "issuer"

    def __init__(self, directory: Path, *extra: str) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.state = directory / f"issuer-{port}"
        self.keys = KeyStore(self.state)
        argv = [sys.executable, "-m", "sandbox.issuer", "serve", "--listen", f"127.0.0.1:{port}", "--state", str(self.state),
                "--issuer", self.url, *extra]
        super().__init__(f"issuer-{port}", argv, directory)

    def ready(self) -> bool:
        return httpx.get(f"{self.url}/jwks").status_code == 200

    def claims(self, persona: str, **options: Any) -> dict[str, Any]:
        return persona_claims(persona, self.url, **options)

    def token(self, persona: str, **options: Any) -> str:
        return self.keys.sign(self.claims(persona, **options))

    def provider(self, name: str = "sandbox", cache_duration: str = "600s", **extra: Any) -> dict[str, Any]:
        """This issuer as an entry of envoy/render.py's issuer list."""
        return {"name": name, "url": self.url, "jwks_uri": f"{self.url}/jwks", "audiences": [AUDIENCE],
                "cache_duration": cache_duration, **extra}
