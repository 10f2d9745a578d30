"""Credentials: a plain access token, or a MyToken exchanged for short-lived access tokens.

MyToken protocol: discovery at {MYTOKEN_SERVER}/.well-known/mytoken-configuration gives the
access_token_endpoint; POST {"grant_type": "mytoken", "mytoken": ...} returns an access token and, for
rotating mytokens, a `token_update` whose new mytoken must be used next time (the old one is revoked).

Every process of the user that was given the same mytoken shares one state file,
{state_dir}/mytokens/<sha256 of the configured mytoken, 24 hex digits>, also read and written by the Go
client: JSON {"mytoken", "access_token", "expires_at"} (unix seconds). An exchange happens only under an
exclusive lock on the file beside it (`<state file>.lock`), after re-reading the state: if another process
rotated the mytoken meanwhile, its successor is used, and so is its access token while still valid. So any
number of processes can share a rotating mytoken without revoking each other's.

An empty or damaged state file (the write is atomic and fsynced, so only outside damage makes one) is
reported in the log and ignored: the configured mytoken is tried and, once exchanged, rewrites the file. If
that mytoken was rotated away already, the MyToken server refuses it (invalid_token) and a new one is needed.
A file holding just a mytoken (the format before access tokens were shared) is read as that mytoken.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import ssl
import threading
import time
from pathlib import Path
from typing import Protocol

import httpx

from drift_monitoring.errors import AuthenticationError, ConfigurationError, UnavailableError
from drift_monitoring.files import locked, write_private
from drift_monitoring.settings import Settings

log = logging.getLogger("drift_monitoring")
REFRESH_BEFORE = 60  # seconds before expiry an access token is replaced
EXCHANGE_TIMEOUT = 10.0  # seconds, for each request to the MyToken server
# How long to wait for another process's exchange (two requests) before giving up on the lock.
LOCK_WAIT = 3 * EXCHANGE_TIMEOUT
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
        self._mytoken = mytoken
        self._store = state_dir / "mytokens" / hashlib.sha256(mytoken.encode()).hexdigest()[:24]
        self._verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
        self._lock = threading.Lock()  # the threads of this process; the file lock is for the processes
        self._token, self._expires = "", 0.0

    def access_token(self) -> str:
        with self._lock, contextlib.ExitStack() as shared:
            if not self._fresh(self._expires):
                try:
                    shared.enter_context(locked(self._store.with_name(self._store.name + ".lock"), wait=LOCK_WAIT))
                except OSError as exc:  # a state directory we cannot write: the job goes on, rotations stay here
                    log.warning("drift monitor: cannot lock %s (%s); the mytoken is not shared with other processes", self._store, exc)
                self._load()
                if not self._fresh(self._expires):
                    self._exchange()
            return self._token

    @staticmethod
    def _fresh(expires: float) -> bool:
        return time.time() < expires - REFRESH_BEFORE

    def _load(self) -> None:
        """Take up the shared state: the latest mytoken, and an access token another process got."""
        try:
            text = self._store.read_text().strip()
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("drift monitor: cannot read %s (%s): ignored", self._store, exc)
            return
        if not text.startswith("{"):
            if text:
                self._mytoken = text  # a bare mytoken, as saved before access tokens were shared
            else:
                log.warning("drift monitor: %s is empty: ignored, rewritten after the next exchange", self._store)
            return
        try:
            state = json.loads(text)
            mytoken, token, expires = state["mytoken"], state.get("access_token", ""), float(state.get("expires_at", 0))
            if not isinstance(mytoken, str) or not mytoken or not isinstance(token, str):
                raise ValueError("no mytoken")
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("drift monitor: %s is damaged: ignored, rewritten after the next exchange", self._store)
            return
        self._mytoken = mytoken
        if token and expires > self._expires:
            self._token, self._expires = token, expires

    def _exchange(self) -> None:
        try:
            with httpx.Client(verify=self._verify, timeout=EXCHANGE_TIMEOUT) as http:
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
        self._mytoken = (body.get("token_update") or {}).get("mytoken") or self._mytoken
        # Saved whether or not the mytoken rotated: the other processes reuse the access token too.
        state = {"mytoken": self._mytoken, "access_token": self._token, "expires_at": self._expires}
        try:
            write_private(self._store, json.dumps(state).encode())
        except OSError as exc:  # this process goes on with the token in memory; others start from an old one
            log.error("drift monitor: cannot save the rotated mytoken to %s (%s)", self._store, exc)


def token_source(settings: Settings) -> TokenSource:
    if settings.token and settings.mytoken:
        raise ConfigurationError("set DRIFT_MONITOR_TOKEN or DRIFT_MONITOR_MYTOKEN, not both")
    if settings.token:
        return StaticToken(settings.token)
    if settings.mytoken:
        return MyTokenSource(settings.mytoken, settings.mytoken_server, settings.state_dir, settings.ca_bundle)
    return NoToken()
