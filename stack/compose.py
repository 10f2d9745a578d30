"""A whole stack of one caller's own: database, server, sandbox issuer and Envoy with TLS from the dev CA."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pymongo

from drift_monitoring import Client
from scripts import certs
from stack.database import FerretDB
from stack.envoy import Envoy
from stack.issuer import Issuer
from stack.server import Server


class Stack:
    """Every part on free ports with its state and logs under directory (a new temporary one when None).

    private_database: a FerretDB of its own even when MONGODB_URI is set (for tests that kill it).
    """

    def __init__(self, directory: Path | None = None, *, ca_pem: Path | None = None, private_database: bool = False,
                 cache_duration: str = "1s", envoy_args: tuple[str, ...] = ("--rate-limit", "100000"), **server_env: str) -> None:
        self.directory = directory or Path(tempfile.mkdtemp(prefix="dm-stack-"))
        self.ca_pem = ca_pem or certs.ensure(self.directory / "certs")
        self.database = FerretDB(self.directory, private=private_database)
        self.database_uri = self.database.database_uri("dm_stack")
        self.issuer = self.server = self.envoy = None
        try:
            self.issuer = Issuer(self.directory)
            self.server = Server(self.database_uri, self.directory, DRIFT_MONITOR_TRUSTED_ISSUERS=self.issuer.url, **server_env)
            provider = self.issuer.provider(cache_duration=cache_duration)
            self.envoy = Envoy(self.directory, "envoy", self.server, [provider], self.ca_pem.parent, *envoy_args)
        except BaseException:
            self.stop()
            raise

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def target(self) -> str:
        """host:port of Envoy, as DRIFT_MONITOR_URL takes it."""
        return self.envoy.target

    def db(self) -> pymongo.database.Database:
        return pymongo.MongoClient(self.database_uri, tz_aware=True, serverSelectionTimeoutMS=20_000).get_default_database()

    def token(self, persona: str = "manager") -> str:
        return self.issuer.token(persona)

    def settings(self, persona: str = "manager", **settings: Any) -> dict[str, Any]:
        """Client settings for a persona through this stack's Envoy, with a spool of the persona's own."""
        return {"url": self.target, "ca_bundle": str(self.ca_pem), "token": self.token(persona),
                "state_dir": self.directory / f"state-{persona}", "timeout": 10, **settings}

    def client(self, persona: str = "manager", **settings: Any) -> Client:
        return Client(**self.settings(persona, **settings))

    def heal(self) -> None:
        """Bring back whatever a test left dead."""
        self.database.start()
        for part in (self.issuer, self.server, self.envoy):
            if not part.alive:
                part.restart()

    def stop(self) -> None:
        for part in (self.envoy, self.server, self.issuer):
            if part is not None:
                part.stop()
        self.database.stop()
