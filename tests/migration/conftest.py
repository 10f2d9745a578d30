"""The migrator against the real stack: an original-shaped database on the session's FerretDB, the
`drift-monitor migrate` command as a process, Envoy with TLS and a signed admin token."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest

from drift_monitoring import Client
from stack import ROOT
from tests.conftest import edge_of_its_own


# A server and Envoy of the module's own on a fresh database (overriding the session's db and envoy):
# fixtures.snapshot() reads every document of the database, four times a test.
own_edge, db, envoy = edge_of_its_own("migration")


@pytest.fixture
def legacy_db(mongo_base: str) -> Iterator[tuple[str, Any]]:
    """An empty database for the original's collections: (its URI, the pymongo database)."""
    name = f"drifts_legacy_{uuid.uuid4().hex[:8]}"
    client = pymongo.MongoClient(mongo_base)
    yield f"{mongo_base}/{name}", client[name]
    client.drop_database(name)
    client.close()


@pytest.fixture
def admin_env(envoy, ca_pem: Path, issuer, tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DRIFT_MONITOR_URL": f"localhost:{envoy.port}",
        "DRIFT_MONITOR_TOKEN": issuer.token("admin"),
        "DRIFT_MONITOR_CA_BUNDLE": str(ca_pem),
        "DRIFT_MONITOR_STATE_DIR": str(tmp_path / "state"),
        "DRIFT_MONITOR_TIMEOUT": "30",
    }
    with Client(url=env["DRIFT_MONITOR_URL"], token=env["DRIFT_MONITOR_TOKEN"], ca_bundle=str(ca_pem), state_dir=tmp_path / "s") as client:
        client.register()
    return env


def migrate_command(source: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "drift_monitoring", "migrate", "--from", source, *args]


@pytest.fixture
def migrate(admin_env):
    def run(source: str, *args: str, json_output: bool = False) -> subprocess.CompletedProcess[str]:
        command = migrate_command(source, *args)
        if json_output:
            command.insert(3, "--json")
        result = subprocess.run(command, cwd=ROOT, env=admin_env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        return result

    return run
