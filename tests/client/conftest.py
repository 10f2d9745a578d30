"""The client against the real stack: Envoy with TLS, tokens from the sandbox issuer."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from drift_monitoring import Client


@pytest.fixture
def settings(envoy, ca_pem: Path, issuer, tmp_path: Path) -> dict[str, Any]:
    """What a data scientist configures: the URL, the CA of a private deployment, a token; plus a spool of its own."""
    return {"url": f"localhost:{envoy.port}", "ca_bundle": str(ca_pem), "token": issuer.token("manager"), "state_dir": tmp_path / "state", "timeout": 5}


@pytest.fixture
def client(settings) -> Client:
    with Client(**settings) as client:
        client.register()
        yield client


@pytest.fixture
def experiment(client: Client):
    return client.new_experiment(f"client-{uuid.uuid4().hex[:8]}", "made by the client tests")
