"""Entitlements from the issuer's UserInfo endpoint, for tokens that do not carry the claim.

Issuers such as EGI Check-in put `eduperson_entitlement` only in UserInfo. We discover the endpoint
from `{iss}/.well-known/openid-configuration` (trusted issuers only: an attacker-chosen `iss` never
makes us fetch anything), call it with the caller's own bearer token, and cache the answer until the
token expires (at most MAX_TTL). Concurrent calls with one token share one request. Everything is
asynchronous (httpx.AsyncClient): a slow issuer delays only the calls that need it, never the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from typing import Any

import httpx

log = logging.getLogger(__name__)

MAX_CACHED = 10_000
MAX_TTL = 3600.0  # a token valid for a day still has its entitlements re-read hourly
FAILURE_TTL = 5.0  # after a failed look-up, calls with that token do without for a few seconds
DISCOVERY_TTL = 3600.0


class UserInfo:
    def __init__(self, trusted_issuers: frozenset[str], ca_bundle: str = "", timeout: float = 5.0) -> None:
        self._trusted = frozenset(issuer.rstrip("/") for issuer in trusted_issuers)
        self._client = httpx.AsyncClient(verify=ca_bundle or True, timeout=timeout, follow_redirects=False)
        self._endpoints: dict[str, tuple[float, str]] = {}
        self._cache: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._pending: dict[str, asyncio.Future[dict[str, Any] | None]] = {}

    async def claims(self, issuer: str, authorization: str, expires: float, subject: str = "") -> dict[str, Any]:
        """UserInfo claims for this token, or {} when they cannot be had (logged, never raised).

        subject: the token's `sub`; an answer about anyone else is discarded (OpenID Connect Core 5.3.2).
        """
        if issuer.rstrip("/") not in self._trusted or not authorization.lower().startswith("bearer "):
            return {}
        key = hashlib.sha256(authorization.encode()).hexdigest()
        while True:
            cached = self._cache.get(key)
            if cached and cached[0] > time.time():
                self._cache.move_to_end(key)
                return cached[1]
            pending = self._pending.get(key)
            if pending is None:
                break
            shared = await asyncio.shield(pending)
            if shared is not None:
                return shared
            # The call that was fetching was cancelled: look again (and maybe fetch ourselves).
        future: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            claims = await self._fetch(issuer.rstrip("/"), authorization, subject)
            now = time.time()
            until = min(expires, now + MAX_TTL) if claims else now + FAILURE_TTL
            self._cache[key] = (until, claims)
            self._cache.move_to_end(key)
            while len(self._cache) > MAX_CACHED:
                self._cache.popitem(last=False)
            future.set_result(claims)
            return claims
        finally:
            del self._pending[key]
            if not future.done():
                future.set_result(None)

    async def _fetch(self, issuer: str, authorization: str, subject: str) -> dict[str, Any]:
        try:
            endpoint = await self._endpoint(issuer)
            response = await self._client.get(endpoint, headers={"Authorization": authorization, "Accept": "application/json"})
            response.raise_for_status()
            claims = response.json()
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            log.warning("UserInfo from %s failed: %s", issuer, exc)
            return {}
        if not isinstance(claims, dict):
            log.warning("UserInfo from %s is not a JSON object", issuer)
            return {}
        if subject and claims.get("sub") != subject:
            log.warning("UserInfo from %s is about another subject; ignored", issuer)
            return {}
        return claims

    async def _endpoint(self, issuer: str) -> str:
        known = self._endpoints.get(issuer)
        if known and known[0] > time.time():
            return known[1]
        response = await self._client.get(issuer + "/.well-known/openid-configuration")
        response.raise_for_status()
        endpoint = response.json()["userinfo_endpoint"]
        if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
            raise ValueError(f"bad userinfo_endpoint {endpoint!r}")
        self._endpoints[issuer] = (time.time() + DISCOVERY_TTL, endpoint)
        return endpoint

    async def close(self) -> None:
        await self._client.aclose()
