"""Entitlements from the issuer's UserInfo endpoint, for tokens that do not carry the claim.

Issuers such as EGI Check-in put `eduperson_entitlement` only in UserInfo. We discover the endpoint
from `{iss}/.well-known/openid-configuration` (trusted issuers only: an attacker-chosen `iss` never
makes us fetch anything), call it with the caller's own bearer token, and cache the answer until the
token expires.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from typing import Any

import httpx

log = logging.getLogger(__name__)

MAX_CACHED = 10_000


class UserInfo:
    def __init__(self, trusted_issuers: frozenset[str], ca_bundle: str = "", timeout: float = 5.0) -> None:
        self._trusted = trusted_issuers
        self._client = httpx.AsyncClient(verify=ca_bundle or True, timeout=timeout)
        self._endpoints: dict[str, str] = {}
        self._cache: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()

    async def claims(self, issuer: str, authorization: str, expires: float) -> dict[str, Any]:
        """UserInfo claims for this token, or {} when they cannot be had (logged, never raised)."""
        if issuer not in self._trusted or not authorization.lower().startswith("bearer "):
            return {}
        key = hashlib.sha256(authorization.encode()).hexdigest()
        cached = self._cache.get(key)
        if cached and cached[0] > time.time():
            self._cache.move_to_end(key)
            return cached[1]
        try:
            endpoint = self._endpoints.get(issuer) or await self._discover(issuer)
            response = await self._client.get(endpoint, headers={"Authorization": authorization})
            response.raise_for_status()
            claims = response.json()
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            log.warning("UserInfo from %s failed: %s", issuer, exc)
            return {}
        if not isinstance(claims, dict):
            return {}
        self._cache[key] = (expires, claims)
        while len(self._cache) > MAX_CACHED:
            self._cache.popitem(last=False)
        return claims

    async def _discover(self, issuer: str) -> str:
        response = await self._client.get(issuer.rstrip("/") + "/.well-known/openid-configuration")
        response.raise_for_status()
        endpoint = response.json()["userinfo_endpoint"]
        self._endpoints[issuer] = endpoint
        return endpoint

    async def close(self) -> None:
        await self._client.aclose()
