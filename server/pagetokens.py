"""Opaque, tamper-proof tokens for list pages and watch positions.

A token is urlsafe-base64 (no padding) of compact JSON followed by a truncated HMAC-SHA256 of it.
Clients cannot read meaning into it or forge one; `expect` binds a token to the request it was made for.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

MAX_TOKEN = 4096
MAC_BYTES = 16


class PageTokenError(ValueError):
    """The token is malformed, forged, or belongs to another request."""


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$t": value.isoformat()}  # tagged so it round-trips as an aware datetime
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$t"}:
        return datetime.fromisoformat(value["$t"])
    return value


def encode_page_token(secret: bytes, payload: dict[str, Any]) -> str:
    body = json.dumps({k: _encode_value(v) for k, v in payload.items()}, separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(secret, body, hashlib.sha256).digest()[:MAC_BYTES]
    return base64.urlsafe_b64encode(body + mac).rstrip(b"=").decode()


def decode_page_token(secret: bytes, token: str, *, expect: dict[str, Any]) -> dict[str, Any]:
    if len(token) > MAX_TOKEN:
        raise PageTokenError("token is too long; use the token from the previous response unchanged")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise PageTokenError("token is not valid; use the token from the previous response unchanged") from None
    body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    if len(raw) <= MAC_BYTES or not hmac.compare_digest(mac, hmac.new(secret, body, hashlib.sha256).digest()[:MAC_BYTES]):
        raise PageTokenError("token is not valid; use the token from the previous response unchanged")
    try:
        payload = {k: _decode_value(v) for k, v in json.loads(body).items()}
    except (ValueError, AttributeError):
        raise PageTokenError("token is not valid") from None
    for key, value in expect.items():
        if payload.get(key) != value:
            raise PageTokenError("token does not match this request; repeat it with the same filter and order_by")
    return payload
