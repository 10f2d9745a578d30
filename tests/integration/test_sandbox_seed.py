"""The sandbox data that `make run` and the dev compose load: seeded into a fresh database by the real
`python -m sandbox.seed`, then seen through Envoy by each persona with the token
`python -m sandbox.issuer token PERSONA` prints.

The expectations are written out here rather than derived from sandbox/seed.py, so a change to the seed
that shows someone an experiment they should not see fails this test.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import timedelta
from collections.abc import Iterator
from pathlib import Path

import grpc
import pymongo
import pytest

from drift_monitoring.v1 import drift_pb2, drift_pb2_grpc, experiment_pb2, experiment_pb2_grpc
from sandbox import personas
from stack import ROOT, SECRET, Envoy, Issuer, Server

READ, EDIT, MANAGE = experiment_pb2.ACCESS_LEVEL_READ, experiment_pb2.ACCESS_LEVEL_EDIT, experiment_pb2.ACCESS_LEVEL_MANAGE
RUNS = {"credit-scoring": 30, "fraud-detection": 24, "churn-prediction": 15, "outsider-sandbox": 5}
FAILED = {"credit-scoring": 3, "fraud-detection": 2, "churn-prediction": 1, "outsider-sandbox": 0}
PRIVATE = {"credit-scoring", "churn-prediction", "outsider-sandbox"}
# persona (None: no token) -> {experiment: the access it shows}; every other experiment is invisible.
SEES: dict[str | None, dict[str, int]] = {
    "admin": {"credit-scoring": MANAGE, "fraud-detection": MANAGE, "churn-prediction": MANAGE, "outsider-sandbox": MANAGE},
    "manager": {"credit-scoring": MANAGE, "fraud-detection": MANAGE, "churn-prediction": READ},  # churn: the ml-team grant
    "editor": {"credit-scoring": EDIT, "fraud-detection": READ, "churn-prediction": MANAGE},
    "reader": {"credit-scoring": READ, "fraud-detection": READ},
    "outsider": {"fraud-detection": READ, "outsider-sandbox": MANAGE},
    None: {"fraud-detection": READ},
}


@pytest.fixture(scope="module")
def seeded(mongo_base: str, issuer: Issuer, run_dir: Path, ca_pem: Path) -> Iterator[grpc.Channel]:
    """A server on a database of its own with nothing but the seed in it, behind its own Envoy."""
    name = f"dm_seed_{uuid.uuid4().hex[:10]}"
    server = Server(f"{mongo_base}/{name}", DRIFT_MONITOR_TRUSTED_ISSUERS=issuer.url)
    edge = None
    try:
        for _ in range(2):  # the second run must change nothing (fixed request_ids, lookup by name)
            seed(server.target, issuer.url)
        edge = Envoy(run_dir, "envoy-seed", server, issuer, ca_pem.parent, "--rate-limit", "100000")
        with grpc.secure_channel(f"localhost:{edge.port}", grpc.ssl_channel_credentials(ca_pem.read_bytes())) as channel:
            yield channel
    finally:
        if edge:
            edge.stop()
        server.stop()
        pymongo.MongoClient(mongo_base).drop_database(name)


def seed(target: str, issuer_url: str) -> None:
    subprocess.run([sys.executable, "-m", "sandbox.seed", "--target", target, "--issuer", issuer_url],
                   cwd=ROOT, env={"PATH": "/usr/bin:/bin", "DRIFT_MONITOR_PROXY_SECRET": SECRET}, check=True, capture_output=True)


def token(issuer: Issuer, persona: str) -> str:
    """What a user of the sandbox runs to get a token."""
    command = [sys.executable, "-m", "sandbox.issuer", "--state", str(issuer.state), "--issuer", issuer.url, "token", persona]
    return subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def signed_in(issuer: Issuer) -> dict[str | None, tuple[tuple[str, str], ...]]:
    return {persona: (("authorization", f"Bearer {token(issuer, persona)}"),) if persona else () for persona in SEES}


def test_the_personas_file_lists_the_personas_checked_here() -> None:
    assert set(personas.NAMES) == {name for name in SEES if name}


@pytest.mark.parametrize("persona", list(SEES), ids=[name or "anonymous" for name in SEES])
def test_each_persona_sees_its_experiments_and_their_runs(seeded: grpc.Channel, signed_in: dict, persona: str | None) -> None:
    experiments = experiment_pb2_grpc.ExperimentServiceStub(seeded)
    drifts = drift_pb2_grpc.DriftServiceStub(seeded)
    meta = signed_in[persona]
    listed = experiments.ListExperiments(experiment_pb2.ListExperimentsRequest(page_size=100), metadata=meta, timeout=30)
    assert not listed.next_page_token
    assert {e.name: e.caller_access for e in listed.experiments} == SEES[persona]

    for experiment in listed.experiments:
        assert experiment.public == (experiment.name not in PRIVATE)
        runs = drifts.ListDrifts(drift_pb2.ListDriftsRequest(experiment_id=experiment.id, page_size=100), metadata=meta, timeout=30)
        assert len(runs.drifts) == RUNS[experiment.name], experiment.name  # both seed runs stored each run once
        failed = [d for d in runs.drifts if d.status == drift_pb2.DRIFT_STATUS_FAILED]
        assert len(failed) == FAILED[experiment.name] and all(d.error_message for d in failed), experiment.name
        assert all(d.status == drift_pb2.DRIFT_STATUS_COMPLETED and d.data_drift.features for d in runs.drifts if d not in failed)
        # Runs spread over days and weeks by when they started (the server gave them all one create_time).
        starts = sorted(d.start_time.ToDatetime() for d in runs.drifts)
        assert len(set(starts)) == len(starts) and starts[-1] - starts[0] >= timedelta(days=10), experiment.name


def test_nobody_reaches_a_private_experiment_they_were_not_given(seeded: grpc.Channel, signed_in: dict) -> None:
    experiments = experiment_pb2_grpc.ExperimentServiceStub(seeded)
    drifts = drift_pb2_grpc.DriftServiceStub(seeded)
    admin = signed_in["admin"]
    ids = {e.name: e.id for e in experiments.ListExperiments(experiment_pb2.ListExperimentsRequest(), metadata=admin, timeout=30).experiments}
    assert set(ids) == set(RUNS)
    for persona, sees in SEES.items():
        meta = signed_in[persona]
        for name in PRIVATE - set(sees):
            for method, request in (
                (experiments.GetExperiment, experiment_pb2.GetExperimentRequest(experiment_id=ids[name])),
                (drifts.ListDrifts, drift_pb2.ListDriftsRequest(experiment_id=ids[name])),
                (drifts.WatchDrifts, drift_pb2.WatchDriftsRequest(experiment_id=ids[name])),
            ):
                with pytest.raises(grpc.RpcError) as caught:
                    list(method(request, metadata=meta, timeout=30)) if method is drifts.WatchDrifts else method(request, metadata=meta, timeout=30)
                # The same answer as for an experiment that does not exist, naming nothing of it.
                assert caught.value.code() == grpc.StatusCode.NOT_FOUND, (persona, name, caught.value.details())
                assert name not in caught.value.details()
