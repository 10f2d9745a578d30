"""Session fixtures: the real stack every product test goes through.

FerretDB (a private one, unless MONGODB_URI names a server), one server process, the sandbox OpenID issuer,
and Envoy with TLS from the dev CA in front of the server. Tests call Envoy with real signed tokens;
only tests of the server's own process behaviour (extra processes, shutdown) talk to a server directly,
sending the identity headers exactly as Envoy does.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pymongo
import pytest

from scripts import certs
from stack import Envoy, FerretDB, Issuer, Server
from stack.service import ROOT

pytest_plugins = ["tests.no_skip_in_ci"]  # a skip under CI is a failure


@pytest.fixture(scope="session")
def mongo_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """MONGODB_URI's server when set; else a FerretDB of this session's own, on a free port with its data
    in a temporary directory, so concurrent test runs never share or stop each other's database."""
    database = FerretDB(tmp_path_factory.mktemp("database"))
    yield database.base
    database.stop()


@pytest.fixture(scope="session")
def database_uri(mongo_base: str) -> Iterator[str]:
    name = f"dm_test_{uuid.uuid4().hex[:10]}"
    yield f"{mongo_base}/{name}"
    pymongo.MongoClient(mongo_base).drop_database(name)


@pytest.fixture(scope="session")
def db(database_uri: str) -> pymongo.database.Database:
    return pymongo.MongoClient(database_uri, tz_aware=True).get_default_database()


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stack")


@pytest.fixture(scope="session")
def ca_pem(run_dir: Path) -> Path:
    return certs.ensure(run_dir / "certs")


@pytest.fixture(scope="session")
def issuer(run_dir: Path) -> Iterator[Issuer]:
    process = Issuer(run_dir)
    yield process
    process.stop()


@pytest.fixture(scope="session")
def query_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session's servers log every query they send (tests/querylog; checked by test_query_plans)."""
    return tmp_path_factory.mktemp("queries")


def logging_queries(query_log: Path, name: str) -> dict[str, str]:
    """The environment that makes a server log its queries to query_log/<name>.jsonl."""
    path = [str(ROOT / "tests" / "querylog"), *filter(None, [os.environ.get("PYTHONPATH", "")])]
    return {"PYTHONPATH": os.pathsep.join(path), "DM_QUERY_LOG": str(query_log / f"{name}.jsonl")}


@pytest.fixture(scope="session")
def server(database_uri: str, issuer: Issuer, query_log: Path) -> Iterator[Server]:
    process = Server(database_uri, DRIFT_MONITOR_TRUSTED_ISSUERS=issuer.url, **logging_queries(query_log, "server"))
    yield process
    process.stop()


@pytest.fixture(scope="session")
def envoy(run_dir: Path, server: Server, issuer: Issuer, ca_pem: Path) -> Iterator[Envoy]:
    edge = Envoy(run_dir, "envoy", server, issuer, ca_pem.parent, "--rate-limit", "100000")
    yield edge
    edge.stop()


def edge_of_its_own(name: str) -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]:
    """Module-scoped (own_edge, db, envoy) fixtures overriding the session's db and envoy: a server and an
    Envoy on a fresh database of the session's FerretDB, dropped afterwards. For suites whose checks read
    whole collections, which on the session's database (thousands of documents by the time they run) cost
    FerretDB a scan each. A module takes them with `own_edge, db, envoy = edge_of_its_own("name")`."""

    @pytest.fixture(scope="module")
    def own_edge(mongo_base: str, run_dir: Path, issuer: Issuer, ca_pem: Path) -> Iterator[tuple[pymongo.database.Database, Envoy]]:
        database = f"dm_{name}_{uuid.uuid4().hex[:10]}"
        client = pymongo.MongoClient(mongo_base, tz_aware=True)
        server = Server(f"{mongo_base}/{database}", DRIFT_MONITOR_TRUSTED_ISSUERS=issuer.url)
        try:
            edge = Envoy(run_dir, f"envoy-{name}", server, issuer, ca_pem.parent, "--rate-limit", "100000")
            try:
                yield client[database], edge
            finally:
                edge.stop()
        finally:
            server.stop()
            client.drop_database(database)
            client.close()

    @pytest.fixture(scope="module")
    def db(own_edge: tuple[pymongo.database.Database, Envoy]) -> pymongo.database.Database:
        return own_edge[0]

    @pytest.fixture(scope="module")
    def envoy(own_edge: tuple[pymongo.database.Database, Envoy]) -> Envoy:
        return own_edge[1]

    return own_edge, db, envoy


@pytest.fixture(scope="session")
def channel(envoy: Envoy, ca_pem: Path) -> Iterator[grpc.Channel]:
    """A TLS channel to Envoy, trusting the dev CA: the way users connect."""
    with grpc.secure_channel(f"localhost:{envoy.port}", grpc.ssl_channel_credentials(ca_pem.read_bytes())) as channel:
        yield channel


@pytest.fixture(scope="module")
def start_server(database_uri: str, query_log: Path) -> Iterator[Callable[..., Server]]:
    """Start extra server processes on the same database; all are stopped when the module's tests end.

    Not at the end of the session: every idle server keeps polling the shared database (event log, sweeps,
    alert passes), and on FerretDB each poll of a growing database costs more, so a dozen leftovers slowed
    every later test (measured: FerretDB at 160% CPU through the security suite)."""
    started: list[Server] = []

    def start(**env: str) -> Server:
        started.append(Server(database_uri, **{**logging_queries(query_log, f"extra-{uuid.uuid4().hex[:8]}"), **env}))
        return started[-1]

    yield start
    for process in started:
        process.stop(signal.SIGKILL)


@dataclass(frozen=True)
class StaleWatch:
    """An edge in front of a server that keeps only 100 events, an experiment on it, and a resume token
    from before what the log still holds: resuming with it must end in OUT_OF_RANGE, in every client."""

    envoy: Envoy
    experiment_id: str
    token: str


@pytest.fixture(scope="session")
def stale_watch(mongo_base: str, run_dir: Path, issuer: Issuer, ca_pem: Path) -> Iterator[StaleWatch]:
    from drift_monitoring.v1 import drift_pb2, drift_pb2_grpc, experiment_pb2, experiment_pb2_grpc, user_pb2, user_pb2_grpc

    name = f"dm_stale_{uuid.uuid4().hex[:10]}"
    server = Server(f"{mongo_base}/{name}", DRIFT_MONITOR_EVENT_RETENTION="100")
    edge = Envoy(run_dir, "envoy-stale", server, issuer, ca_pem.parent, "--rate-limit", "100000")
    try:
        metadata = (("authorization", f"Bearer {issuer.token('manager')}"),)
        with grpc.secure_channel(f"localhost:{edge.port}", grpc.ssl_channel_credentials(ca_pem.read_bytes())) as channel:
            user_pb2_grpc.UserServiceStub(channel).RegisterUser(user_pb2.RegisterUserRequest(accept_terms=True), metadata=metadata, timeout=10)
            experiment = experiment_pb2_grpc.ExperimentServiceStub(channel).CreateExperiment(
                experiment_pb2.CreateExperimentRequest(experiment=experiment_pb2.Experiment(name=f"stale-{uuid.uuid4().hex[:8]}")),
                metadata=metadata, timeout=10)
            drifts = drift_pb2_grpc.DriftServiceStub(channel)
            stream = drifts.WatchDrifts(drift_pb2.WatchDriftsRequest(experiment_id=experiment.id), metadata=metadata, timeout=60)
            first = next(stream)  # a heartbeat (1 s): the stream is open; its token is the oldest position
            for batch in range(2):  # 1000 events: a retention pass runs and keeps the newest 100
                requests = [drift_pb2.CreateDriftRequest(drift=drift_pb2.Drift(model=f"m{batch}-{i}")) for i in range(500)]
                drifts.BatchCreateDrifts(drift_pb2.BatchCreateDriftsRequest(experiment_id=experiment.id, requests=requests), metadata=metadata, timeout=60)
            stream.cancel()
        yield StaleWatch(edge, experiment.id, first.resume_token)
    finally:
        edge.stop()
        server.stop()
        pymongo.MongoClient(mongo_base).drop_database(name)
