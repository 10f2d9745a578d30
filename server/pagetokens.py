"""Opaque, tamper-proof cursor tokens for list pages and watch positions.

token = urlsafe_base64_nopad( compact_json(payload) + HMAC-SHA256(secret, compact_json)[:16] )

Clients cannot forge or edit a token, and `expect` binds it to the request it was issued for (for
example a hash of filter and order_by), so a token from one query cannot page through another.
Datetimes are tagged ({"$dt": "<iso>"}) and come back as aware UTC datetimes, microseconds intact;
naive datetimes (as pymongo returns them) are taken to be UTC.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime
from typing import Any

__all__ = ["PageTokenError", "decode_page_token", "encode_page_token"]

MAX_TOKEN_LENGTH = 4096
MAC_BYTES = 16
_DATETIME_TAG = "$dt"
_ALPHABET_RE = re.compile(r"[A-Za-z0-9_-]*\Z")  # strict: the stdlib decoder silently drops junk
_RESTART = "start again without a page_token"


class PageTokenError(ValueError):
    """The token is malformed, forged, or belongs to another request."""


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return {_DATETIME_TAG: aware.isoformat()}
    if isinstance(value, dict):
        return {key: _to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(item) for item in value]
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {_DATETIME_TAG} and isinstance(value[_DATETIME_TAG], str):
            return datetime.fromisoformat(value[_DATETIME_TAG]).astimezone(UTC)
        return {key: _from_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_json(item) for item in value]
    return value


def _mac(secret: bytes, body: bytes) -> bytes:
    return hmac.new(secret, body, hashlib.sha256).digest()[:MAC_BYTES]


def encode_page_token(secret: bytes, payload: dict[str, Any]) -> str:
    """Serialize and sign `payload` (JSON values and datetimes) into an opaque token."""
    body = json.dumps(_to_json(payload), separators=(",", ":"), sort_keys=True, allow_nan=False).encode()
    return base64.urlsafe_b64encode(body + _mac(secret, body)).rstrip(b"=").decode("ascii")


def decode_page_token(secret: bytes, token: str, *, expect: dict[str, Any]) -> dict[str, Any]:
    """Verify and decode `token`; every item of `expect` must equal the payload's."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise PageTokenError(f"page_token is longer than {MAX_TOKEN_LENGTH} characters; {_RESTART}")
    if not _ALPHABET_RE.match(token) or len(token) % 4 == 1:
        raise PageTokenError("page_token is not valid base64; pass the token from the previous response unchanged")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise PageTokenError("page_token is not valid base64; pass the token from the previous response unchanged") from None
    body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    # compare_digest so the time taken does not reveal how much of a forged MAC was right.
    if len(raw) <= MAC_BYTES or not hmac.compare_digest(mac, _mac(secret, body)):
        raise PageTokenError(f"page_token was altered or issued by another server; {_RESTART}")
    try:
        payload = _from_json(json.loads(body))
    except (ValueError, TypeError):  # includes UnicodeDecodeError and bad datetime text
        raise PageTokenError(f"page_token content is not readable; {_RESTART}") from None
    if not isinstance(payload, dict):
        raise PageTokenError(f"page_token content is not readable; {_RESTART}")
    mismatched = any(key not in payload or payload[key] != value for key, value in expect.items())
    if mismatched:
        raise PageTokenError(
            "page_token does not match this request; repeat the request with the same filter and order_by, "
            f"or {_RESTART}"
        )
    return payload
