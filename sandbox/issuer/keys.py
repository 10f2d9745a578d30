"""Signing keys kept in a state directory, so the CLI and a running issuer share them.

`keys.json` (private, 0600) holds every published key and names the current one; `jwks.json` is the
public set, rewritten with it (usable as an Envoy `local_jwks` file). Writers replace files atomically
under a lock; readers notice a change by the file's identity and re-read it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from sandbox import personas

DEFAULT_STATE = Path(__file__).resolve().parents[2] / ".run" / "issuer"
AUDIENCE = "drift-monitoring"


class KeyStore:
    def __init__(self, state: Path = DEFAULT_STATE) -> None:
        self.state = Path(state)
        self.path = self.state / "keys.json"
        self.jwks_path = self.state / "jwks.json"
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._data: dict[str, Any] = {}
        self._private_keys: dict[str, Any] = {}
        with self._writing():
            if not self.path.exists():
                self._rotate_locked()

    # -- files ---------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One writer at a time across processes (the CLI may rotate while the server runs)."""
        self.state.mkdir(parents=True, exist_ok=True)
        with open(self.state / "keys.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _load(self) -> dict[str, Any]:
        with self._lock:
            stat = self.path.stat()
            stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if stamp != self._stamp:  # replaced by another process (rotate, retire): re-read
                data = json.loads(self.path.read_text())
                self._private_keys = {
                    kid: serialization.load_pem_private_key(pem.encode(), password=None) for kid, pem in data["keys"].items()
                }
                self._data, self._stamp = data, stamp
            return self._data

    def _write(self, path: Path, text: str, mode: int) -> None:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text)
        os.chmod(tmp, mode)
        tmp.replace(path)

    def _save(self, data: dict[str, Any]) -> None:
        self._write(self.path, json.dumps(data), 0o600)
        self._write(self.jwks_path, json.dumps(self.jwks()), 0o644)

    # -- key management ------------------------------------------------------------------------------

    def _rotate_locked(self) -> str:
        data = json.loads(self.path.read_text()) if self.path.exists() else {"keys": {}}
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        kid = f"{time.strftime('%Y%m%d')}-{uuid.uuid4().hex[:8]}"
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        data["keys"][kid] = pem.decode()
        data["current"] = kid
        self._save(data)
        return kid

    def rotate(self) -> str:
        """A new signing key; the old ones stay published (tokens they signed stay valid) until retire()."""
        with self._writing():
            return self._rotate_locked()

    def retire(self) -> list[str]:
        """Unpublish every key but the current one; returns the retired key ids."""
        with self._writing():
            data = json.loads(self.path.read_text())
            current = data["current"]
            retired = [kid for kid in data["keys"] if kid != current]
            self._save({"keys": {current: data["keys"][current]}, "current": current})
            return retired

    @property
    def current(self) -> str:
        return str(self._load()["current"])

    def kids(self) -> list[str]:
        return list(self._load()["keys"])

    def jwks(self) -> dict[str, Any]:
        self._load()
        keys = []
        for kid, private in self._private_keys.items():
            jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def public_pem(self, kid: str | None = None) -> bytes:
        data = self._load()
        return self._private_keys[kid or data["current"]].public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    # -- tokens --------------------------------------------------------------------------------------

    def sign(self, claims: dict[str, Any], *, typ: str = "JWT") -> str:
        kid = self._load()["current"]
        return jwt.encode(claims, self._private_keys[kid], algorithm="RS256", headers={"kid": kid, "typ": typ})

    def verify(self, token: str, issuer: str, audience: str | None = None) -> dict[str, Any]:
        """Claims of a token this issuer signed with a still-published key; raises jwt.InvalidTokenError."""
        kid = jwt.get_unverified_header(token).get("kid", "")
        self._load()
        if kid not in self._private_keys:
            raise jwt.InvalidTokenError("unknown key")
        return jwt.decode(
            token, self._private_keys[kid].public_key(), algorithms=["RS256"], issuer=issuer,
            audience=audience, options={"verify_aud": audience is not None, "require": ["exp", "iss", "sub"]},
        )


def persona_claims(
    persona: str,
    issuer: str,
    *,
    lifetime: int = 3600,
    audience: str = AUDIENCE,
    entitlements: bool = True,
    not_before_offset: int = 0,
    issued_offset: int = 0,
    scope: str = "openid profile email eduperson_entitlement",
    client_id: str = "",
) -> dict[str, Any]:
    """An access token's claims for a sandbox persona.

    lifetime counts from the issue time; issued_offset moves the issue time (negative: in the past), so
    `issued_offset=-7200, lifetime=3600` is a token that expired an hour ago.
    """
    if persona not in personas.CONFIG["personas"]:
        raise KeyError(f"unknown persona {persona!r}; known: {', '.join(personas.NAMES)}")
    claims = personas.claims(persona, issuer=issuer, lifetime=lifetime)
    issued = int(time.time()) + issued_offset
    claims.update(
        aud=audience, iat=issued, nbf=issued + not_before_offset, exp=issued + lifetime, jti=uuid.uuid4().hex, scope=scope,
    )
    if client_id:
        claims["client_id"] = client_id
    if not entitlements:
        del claims["eduperson_entitlement"]
    return claims
