"""The database: MONGODB_URI's server when set, else a FerretDB of the caller's own (scripts/ferretdb.sh)."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from pathlib import Path

import pymongo

from stack.service import ROOT, free_port

SCRIPT = str(ROOT / "scripts" / "ferretdb.sh")
POSTGRESQL_URL = "DRIFT_MONITOR_FERRETDB_POSTGRESQL_URL"
# mongodb://host:port of each FerretDB this process started -> its PostgreSQL (servers on it make its indexes)
_POSTGRESQL: dict[str, str] = {}


def postgresql_url_for(mongodb_uri: str) -> str:
    """FerretDB's PostgreSQL when this process started the FerretDB mongodb_uri names; else empty."""
    scheme, rest = mongodb_uri.split("://", 1)
    return _POSTGRESQL.get(f"{scheme}://{rest.split('/', 1)[0].split('?', 1)[0]}", "")


class FerretDB:
    """A FerretDB on a free port with its data under directory; its data survives kill() + start().

    private=True always starts one (a test that SIGKILLs the database must not kill a shared server);
    otherwise MONGODB_URI, when set, names the server to use and nothing is started.
    """

    def __init__(self, directory: Path, *, private: bool = False) -> None:
        external = None if private else os.environ.get("MONGODB_URI")
        self.started = external is None
        if external is not None:
            scheme, rest = external.split("://", 1)
            self.base = f"{scheme}://{rest.split('/', 1)[0].split('?', 1)[0]}"
            return
        self.address = f"127.0.0.1:{free_port()}"
        self.state = directory / "ferretdb"
        self.env = {**os.environ, "FERRETDB_ADDR": self.address, "FERRETDB_STATE": str(self.state)}
        self.base = f"mongodb://{self.address}"
        self.start()
        pymongo.MongoClient(self.base, serverSelectionTimeoutMS=5000).admin.command("ping")
        self.postgresql_url = subprocess.run(
            [str(ROOT / "scripts" / "postgres.sh"), "url"], env={**self.env, "PG_STATE": str(self.state / "postgres")},
            check=True, capture_output=True, text=True,
        ).stdout.strip()
        _POSTGRESQL[self.base] = self.postgresql_url

    def database_uri(self, prefix: str = "dm_test") -> str:
        """A database of its own on this server: callers sharing one server never see each other's data."""
        return f"{self.base}/{prefix}_{uuid.uuid4().hex[:10]}"

    def start(self) -> None:
        if self.started:
            subprocess.run([SCRIPT, "start"], check=True, env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL)

    def kill(self) -> None:
        """SIGKILL by the pid scripts/ferretdb.sh records."""
        pid_file = self.state / "pid"
        if self.started and pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
            except ProcessLookupError:
                pass

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        if self.started:
            subprocess.run([SCRIPT, "stop"], check=False, env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL)
