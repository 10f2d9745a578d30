"""A user's round trip through the edge: TLS, a signed token, register, create, record, list, read back.

In the testing service of compose.test.yml it targets the composed Envoy, backend and MongoDB
(DRIFT_MONITOR_STACK_URL and friends); everywhere else the session's own Envoy, server and database.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import grpc
import pytest

from drift_monitoring.v1 import drift_pb2, drift_pb2_grpc, experiment_pb2, experiment_pb2_grpc, user_pb2, user_pb2_grpc
from sandbox.issuer.keys import KeyStore, persona_claims


@pytest.fixture
def stack(request):
    """(channel, token maker) for the composed stack when configured, else the session stack."""
    url = os.environ.get("DRIFT_MONITOR_STACK_URL")
    if url:
        ca = Path(os.environ["DRIFT_MONITOR_STACK_CA"]).read_bytes()
        keys, issuer = KeyStore(Path(os.environ["DRIFT_MONITOR_STACK_ISSUER_STATE"])), os.environ["DRIFT_MONITOR_STACK_ISSUER"]
        # The dev certificate names localhost; the composed Envoy is reached by its service name.
        channel = grpc.secure_channel(url, grpc.ssl_channel_credentials(ca), options=[("grpc.ssl_target_name_override", "localhost")])
        yield channel, lambda persona: keys.sign(persona_claims(persona, issuer))
        channel.close()
    else:
        channel, issuer = request.getfixturevalue("channel"), request.getfixturevalue("issuer")
        yield channel, issuer.token


def test_a_run_recorded_through_the_edge_reads_back(stack) -> None:
    channel, token = stack
    auth = [("authorization", f"Bearer {token('editor')}")]
    user_pb2_grpc.UserServiceStub(channel).RegisterUser(user_pb2.RegisterUserRequest(accept_terms=True), metadata=auth, timeout=10)
    experiments = experiment_pb2_grpc.ExperimentServiceStub(channel)
    experiment = experiments.CreateExperiment(
        experiment_pb2.CreateExperimentRequest(experiment=experiment_pb2.Experiment(name=f"stack-{uuid.uuid4().hex[:8]}")), metadata=auth, timeout=10
    )
    drifts = drift_pb2_grpc.DriftServiceStub(channel)
    drift = drift_pb2.Drift(model="smoke", status=drift_pb2.DRIFT_STATUS_COMPLETED)
    drift.concept_drift.detected = True
    drift.concept_drift.parameters.update({"statistic": 0.42})
    created = drifts.CreateDrift(drift_pb2.CreateDriftRequest(experiment_id=experiment.id, drift=drift, request_id="smoke-1"), metadata=auth, timeout=10)
    listed = drifts.ListDrifts(drift_pb2.ListDriftsRequest(experiment_id=experiment.id, filter="concept_drift.detected = true"), metadata=auth, timeout=10)
    assert [d.id for d in listed.drifts] == [created.id]
    assert listed.drifts[0].concept_drift.parameters["statistic"] == 0.42

    # Without a token the private experiment does not exist, as the permission model says.
    with pytest.raises(grpc.RpcError) as anonymous:
        experiments.GetExperiment(experiment_pb2.GetExperimentRequest(experiment_id=experiment.id), timeout=10)
    assert anonymous.value.code() == grpc.StatusCode.NOT_FOUND
