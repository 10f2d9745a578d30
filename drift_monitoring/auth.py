"""Credentials: a plain access token, or a MyToken exchanged for short-lived access tokens.

MyToken protocol: discovery at {MYTOKEN_SERVER}/.well-known/mytoken-configuration gives the
access_token_endpoint; POST {"grant_type": "mytoken", "mytoken": ...} returns an access token and, for
rotating mytokens, a `token_update` whose new mytoken must be used next time: we keep it in the state
directory (mode 0600) so the next run starts from it.
"""

from __future__ import annotations

import hashlib
import os
import ssl
import threading
import time
from pathlib import Path
from typing import Protocol

import httpx

from drift_monitoring.errors import AuthenticationError, ConfigurationError, UnavailableError
from drift_monitoring.settings import Settings

REFRESH_BEFORE = 60  # seconds before expiry an access token is replaced
MYTOKEN_ERRORS = {
    "invalid_token": "the mytoken is invalid, expired or revoked: create a new one",
    "insufficient_capabilities": "the mytoken may not issue access tokens (add the AT capability)",
    "usage_restricted": "the mytoken's restrictions forbid this use (audience, scope, IP or usage count)",
}


class TokenSource(Protocol):
    def access_token(self) -> str | None: ...


class NoToken:
    def access_token(self) -> None:
        return None


class StaticToken:
    def __init__(self, token: str) -> None:
        self._token = token

    def access_token(self) -> str:
        return self._token


class MyTokenSource:
    def __init__(self, mytoken: str, server: str, state_dir: Path, ca_bundle: str = "") -> None:
        self._server = server.rstrip("/")
        self._store = state_dir / "mytokens" / hashlib.sha256(mytoken.encode()).hexdigest()[:24]
        self._mytoken = self._store.read_text().strip() if self._store.exists() else mytoken
        self._verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
        self._lock = threading.Lock()
        self._token, self._expires = "", 0.0

    def access_token(self) -> str:
        with self._lock:
            if not self._token or time.time() > self._expires - REFRESH_BEFORE:
                self._exchange()
            return self._token

    def _exchange(self) -> None:
        try:
            with httpx.Client(verify=self._verify, timeout=10) as http:
                config = http.get(f"{self._server}/.well-known/mytoken-configuration")
                config.raise_for_status()
                endpoint = config.json()["access_token_endpoint"]
                reply = http.post(endpoint, json={"grant_type": "mytoken", "mytoken": self._mytoken})
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            raise UnavailableError(f"MyToken server {self._server} unreachable: {exc}") from exc
        body = reply.json() if reply.headers.get("content-type", "").startswith("application/json") else {}
        if reply.status_code != 200:
            error = body.get("error", f"HTTP {reply.status_code}")
            raise AuthenticationError(f"MyToken {error}: {MYTOKEN_ERRORS.get(error, body.get('error_description', ''))}")
        self._token = body["access_token"]
        self._expires = time.time() + float(body.get("expires_in", 300))
        rotated = (body.get("token_update") or {}).get("mytoken")
        if rotated:
            self._mytoken = rotated
            self._save(rotated)

    def _save(self, mytoken: str) -> None:
        self._store.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._store.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(mytoken)
        tmp.chmod(0o600)
        tmp.replace(self._store)


def token_source(settings: Settings) -> TokenSource:
    if settings.token and settings.mytoken:
        raise ConfigurationError("set DRIFT_MONITOR_TOKEN or DRIFT_MONITOR_MYTOKEN, not both")
    if settings.token:
        return StaticToken(settings.token)
    if settings.mytoken:
        return MyTokenSource(settings.mytoken, settings.mytoken_server, settings.state_dir, settings.ca_bundle)
    return NoToken()
