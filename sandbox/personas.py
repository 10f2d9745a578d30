"""Sandbox personas and the gateway headers Envoy sends for them (until requests go through Envoy)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CONFIG = json.loads((HERE / "personas.json").read_text())
ISSUER: str = CONFIG["issuer"]
ADMIN_ENTITLEMENT: str = CONFIG["admin_entitlement"]
NAMES: tuple[str, ...] = tuple(CONFIG["personas"])


def proxy_secret() -> str:
    return (HERE / "secrets" / "proxy_secret").read_text().strip()


def claims(name: str, *, issuer: str = ISSUER, lifetime: int = 3600) -> dict[str, Any]:
    persona = CONFIG["personas"][name]
    issued = int(time.time())
    return {
        "iss": issuer,
        "sub": name,
        "aud": "drift-monitoring",
        "iat": issued,
        "exp": issued + lifetime,
        "name": persona["name"],
        "email": persona["email"],
        "eduperson_entitlement": persona["entitlements"],
    }


def gateway_metadata(secret: str, token_claims: dict[str, Any] | None) -> tuple[tuple[str, str], ...]:
    """Exactly what Envoy forwards: the shared secret and, when signed in, the verified JWT payload."""
    headers = [("x-dm-proxy-secret", secret)]
    if token_claims is not None:
        payload = base64.urlsafe_b64encode(json.dumps(token_claims).encode()).rstrip(b"=").decode()
        headers.append(("x-jwt-payload", payload))
    return tuple(headers)
