"""The edge suite's own stack: FerretDB, one server, the sandbox issuer and Envoy with TLS from a dev CA.

These fixtures replace the session-wide ones of tests/conftest.py inside tests/edge, so the suite runs on
its own (`pytest tests/edge`) and tests exactly what it renders. Tests call Envoy with real signed tokens;
only tests about bypassing Envoy talk to the server directly.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest

from scripts import certs
from stack import Envoy, FerretDB, Issuer, Server


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("edge")


@pytest.fixture(scope="session")
def ca_pem(run_dir: Path) -> Path:
    return certs.ensure(run_dir / "certs")


@pytest.fixture(scope="session")
def mongo(run_dir: Path) -> Iterator[FerretDB]:
    database = FerretDB(run_dir)
    yield database
    database.stop()


@pytest.fixture(scope="session")
def issuer(run_dir: Path) -> Iterator[Issuer]:
    process = Issuer(run_dir)
    yield process
    process.stop()


@pytest.fixture(scope="session")
def server(run_dir: Path, mongo: FerretDB, issuer: Issuer) -> Iterator[Server]:
    process = Server(mongo.database_uri(), run_dir, DRIFT_MONITOR_TRUSTED_ISSUERS=issuer.url)
    yield process
    process.stop()


@pytest.fixture(scope="session")
def envoy(run_dir: Path, server: Server, issuer: Issuer, ca_pem: Path) -> Iterator[Envoy]:
    edge = Envoy(run_dir, "envoy", server, issuer, ca_pem.parent, "--rate-limit", "100000")
    yield edge
    edge.stop()


@pytest.fixture(scope="session")
def channel(envoy: Envoy, ca_pem: Path) -> Iterator[grpc.Channel]:
    """Native gRPC over TLS to Envoy, trusting the dev CA: the way users connect."""
    with grpc.secure_channel(envoy.target, grpc.ssl_channel_credentials(ca_pem.read_bytes())) as channel:
        yield channel


@pytest.fixture(scope="session")
def http(ca_pem: Path) -> Iterator[httpx.Client]:
    """HTTP/1.1 over TLS, as browsers and curl speak to the edge."""
    with httpx.Client(verify=ssl.create_default_context(cafile=str(ca_pem)), http1=True, http2=False, timeout=10) as client:
        yield client
