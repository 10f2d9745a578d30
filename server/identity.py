"""Who is calling: identity comes only from Envoy, as verified JWT claims plus a shared secret.

Header contract (Envoy sets these and strips any client-sent copies):
  x-dm-proxy-secret  the shared secret; without it nothing else is trusted and the call is refused
  x-jwt-payload      base64url JSON payload of the verified token (absent for anonymous callers)
  authorization      the bearer token itself, kept for UserInfo look-ups
A user is (issuer, subject); User.id is derived from both so grants can name users before they register.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from server.errors import unauthenticated
from server.settings import Settings

PROXY_SECRET_HEADER = "x-dm-proxy-secret"
PAYLOAD_HEADER = "x-jwt-payload"


@dataclass(frozen=True)
class Caller:
    user_id: str | None = None
    issuer: str = ""
    subject: str = ""
    name: str = ""
    email: str = ""
    entitlements: frozenset[str] = frozenset()
    admin: bool = False
    # For the UserInfo fallback: whether the token carried the entitlements claim, and the token itself.
    has_entitlements_claim: bool = True
    authorization: str = field(default="", repr=False)
    expires: float = 0.0

    @property
    def anonymous(self) -> bool:
        return self.user_id is None

    @property
    def entities(self) -> frozenset[str]:
        """What grants may name to reach this caller: the user id and every entitlement."""
        return self.entitlements | {self.user_id} if self.user_id else frozenset()


ANONYMOUS = Caller()


def user_id_for(issuer: str, subject: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{issuer}#{subject}").hex


def caller_from_metadata(metadata: Iterable[tuple[str, str | bytes]], settings: Settings) -> Caller:
    headers = {key: value for key, value in metadata if isinstance(value, str)}
    secret = headers.get(PROXY_SECRET_HEADER, "")
    if not hmac.compare_digest(secret.encode(), settings.proxy_secret.encode()):
        raise unauthenticated("requests must come through the Drift Monitoring gateway")
    payload = headers.get(PAYLOAD_HEADER)
    if not payload:
        return ANONYMOUS
    claims = _decode_payload(payload)
    issuer, subject = claims.get("iss"), claims.get("sub")
    if not isinstance(issuer, str) or not isinstance(subject, str) or not issuer or not subject:
        raise unauthenticated("the token has no issuer or subject")
    entitlements = _entitlements(claims, settings.entitlements_claim)
    caller = Caller(
        user_id=user_id_for(issuer, subject),
        issuer=issuer,
        subject=subject,
        name=_text(claims.get("name")),
        email=_text(claims.get("email")),
        has_entitlements_claim=entitlements is not None,
        authorization=headers.get("authorization", ""),
        expires=float(claims["exp"]) if isinstance(claims.get("exp"), (int, float)) else 0.0,
    )
    return with_entitlements(caller, entitlements or [], settings)


def with_entitlements(caller: Caller, entitlements: list[str], settings: Settings) -> Caller:
    held = asserted(caller.issuer, entitlements, settings)
    return replace(caller, entitlements=held, admin=is_admin(held, settings))


def asserted(issuer: str, entitlements: Iterable[str], settings: Settings) -> frozenset[str]:
    """The entitlements this issuer may assert (DRIFT_MONITOR_ENTITLEMENT_ISSUERS); with several trusted
    issuers one must not hand out another's groups, or admin. Unconfigured: all of them (one issuer)."""
    if not settings.entitlement_issuers:
        return frozenset(entitlements)
    patterns = settings.entitlement_issuers.get(issuer, ())
    return frozenset(e for e in entitlements if any(e.startswith(p[:-1]) if p.endswith("*") else e == p for p in patterns))


def is_admin(entitlements: Iterable[str], settings: Settings) -> bool:
    return not settings.admin_entitlements.isdisjoint(entitlements)


def entitlements_from(claims: dict[str, Any], settings: Settings) -> list[str]:
    return _entitlements(claims, settings.entitlements_claim) or []


def _decode_payload(payload: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(raw)
    except (binascii.Error, ValueError):
        raise unauthenticated("the verified token payload could not be decoded") from None
    if not isinstance(claims, dict):
        raise unauthenticated("the verified token payload is not an object")
    return claims


def _entitlements(claims: dict[str, Any], path: str) -> list[str] | None:
    """The entitlements at a dotted claim path; None when the claim is absent."""
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
