"""Signing keys kept in a state directory, so the CLI and the running issuer share them."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from sandbox import personas

DEFAULT_STATE = Path(__file__).resolve().parents[2] / ".run" / "issuer"


class KeyStore:
    def __init__(self, state: Path = DEFAULT_STATE) -> None:
        self.path = state / "keys.json"
        self._mtime = -1.0
        self._data: dict[str, Any] = {}
        if not self.path.exists():
            self.rotate()

    def _load(self) -> dict[str, Any]:
        mtime = self.path.stat().st_mtime
        if mtime != self._mtime:  # another process rotated: pick it up
            self._data, self._mtime = json.loads(self.path.read_text()), mtime
        return self._data

    def _save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)

    def rotate(self) -> str:
        """A new signing key; the old ones stay published until retire()."""
        data = json.loads(self.path.read_text()) if self.path.exists() else {"keys": {}}
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        kid = uuid.uuid4().hex[:16]
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        data["keys"][kid] = pem.decode()
        data["current"] = kid
        self._save(data)
        return kid

    def retire(self) -> None:
        data = self._load()
        self._save({"keys": {data["current"]: data["keys"][data["current"]]}, "current": data["current"]})

    def _private(self, kid: str) -> Any:
        return serialization.load_pem_private_key(self._load()["keys"][kid].encode(), password=None)

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid in self._load()["keys"]:
            jwk = json.loads(RSAAlgorithm.to_jwk(self._private(kid).public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def public_pem(self) -> bytes:
        return self._private(self._load()["current"]).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, claims: dict[str, Any]) -> str:
        kid = self._load()["current"]
        return jwt.encode(claims, self._private(kid), algorithm="RS256", headers={"kid": kid})

    def verify(self, token: str, issuer: str) -> dict[str, Any]:
        kid = jwt.get_unverified_header(token).get("kid", "")
        if kid not in self._load()["keys"]:
            raise jwt.InvalidTokenError("unknown key")
        return jwt.decode(token, self._private(kid).public_key(), algorithms=["RS256"], issuer=issuer, options={"verify_aud": False})


def persona_claims(
    persona: str,
    issuer: str,
    *,
    lifetime: int = 3600,
    audience: str = "drift-monitoring",
    entitlements: bool = True,
    not_before_offset: int = 0,
) -> dict[str, Any]:
    claims = personas.claims(persona, issuer=issuer, lifetime=lifetime)
    now = int(time.time())
    claims.update(aud=audience, iat=now, nbf=now + not_before_offset, jti=uuid.uuid4().hex)
    if not entitlements:
        del claims["eduperson_entitlement"]
    return claims
