"""Limits: each enforced where it is cheapest, and each one in the limits table (docs/api.md) with the same number.

Parameters, tags, page size and batch limits are pinned at their boundaries in
tests/integration/test_validation.py, the rate limit in tests/edge/test_edge.py and the message size in
test_bad_input.py; here are the per-user stream limit and the check that the documentation agrees.
"""

from __future__ import annotations

import re

import grpc
import pytest

from drift_monitoring.v1 import drift_pb2, drift_pb2_grpc, experiment_pb2, experiment_pb2_grpc, user_pb2, user_pb2_grpc
from server import filtering, listing, validation
from server.services import drifts, experiments
from server.settings import Settings
from stack import ROOT
from tests.integration.helpers import EDITOR, MANAGER, gateway_metadata


@pytest.fixture(scope="module")
def limited(start_server, issuer):
    """A server process allowing three watch streams per user, and manager's public experiment on it."""
    process = start_server(DRIFT_MONITOR_MAX_WATCHES_PER_USER="3")
    with grpc.insecure_channel(process.target) as channel:
        as_manager = gateway_metadata(MANAGER.claims(issuer.url))
        user_pb2_grpc.UserServiceStub(channel).RegisterUser(user_pb2.RegisterUserRequest(accept_terms=True), metadata=as_manager, timeout=10)
        experiment = experiment_pb2_grpc.ExperimentServiceStub(channel).CreateExperiment(
            experiment_pb2.CreateExperimentRequest(experiment=experiment_pb2.Experiment(name=f"limits-{process.port}", public=True)),
            metadata=as_manager, timeout=10)
        yield drift_pb2_grpc.DriftServiceStub(channel), experiment.id, issuer


def _open(stub, experiment_id: str, metadata):
    stream = stub.WatchDrifts(drift_pb2.WatchDriftsRequest(experiment_id=experiment_id), metadata=metadata, timeout=60)
    next(stream)  # the first heartbeat: the stream is established and counted
    return stream


def test_watch_streams_per_user_are_bounded(limited):
    stub, experiment_id, issuer = limited
    manager = gateway_metadata(MANAGER.claims(issuer.url))
    streams = [_open(stub, experiment_id, manager) for _ in range(3)]
    try:
        with pytest.raises(grpc.RpcError) as caught:
            _open(stub, experiment_id, manager)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "at most 3" in caught.value.details()
        others = [_open(stub, experiment_id, gateway_metadata(EDITOR.claims(issuer.url))) for _ in range(3)]  # a quota each
        anonymous = [_open(stub, experiment_id, gateway_metadata(None) + (("x-forwarded-for", f"10.0.0.{i}"),)) for i in range(4)]
        for stream in others + anonymous:
            stream.cancel()
        streams.pop().cancel()  # a closed stream frees its slot
        for _ in range(50):
            try:
                streams.append(_open(stub, experiment_id, manager))
                break
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert len(streams) == 3
    finally:
        for stream in streams:
            stream.cancel()


def _readme_limits() -> dict[str, str]:
    text = (ROOT / "docs" / "api.md").read_text()
    table = text.split("## Limits", 1)[1].split("\n\n", 2)[1]
    return {row.split("|")[1].strip(): row.split("|")[2].strip() for row in table.splitlines()[2:]}


def test_the_docs_state_the_limits_the_code_enforces():
    limits = _readme_limits()
    numbers = {key: [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", value)] for key, value in limits.items()}
    assert numbers["experiment name"][-1] == validation.MAX_NAME
    assert numbers["description"] == [validation.MAX_DESCRIPTION]
    assert numbers["grants"] == [validation.MAX_GRANTS]
    assert numbers["model"][-1] == validation.MAX_MODEL
    assert numbers["tags"][0] == validation.MAX_TAGS and numbers["tags"][-1] == validation.MAX_TAG
    assert numbers["parameters"][:2] == [validation.MAX_PARAMETER_BYTES // 1024, validation.MAX_DEPTH]
    assert numbers["features"] == [validation.MAX_FEATURES]
    assert numbers["error message"] == [validation.MAX_ERROR_MESSAGE]
    assert numbers["request_id"] == [validation.MAX_REQUEST_ID]
    assert numbers["batch"] == [drifts.MAX_BATCH]
    assert numbers["page size"] == [drifts.LISTING.default_size, experiments.LISTING.default_size, listing.MAX_PAGE_SIZE]
    assert numbers["filter"] == [filtering.MAX_LENGTH, filtering.MAX_COMPARISONS, filtering.MAX_DEPTH]
    assert numbers["per-feature filter"] == [listing.MAX_EXAMINED]
    assert numbers["request message"][0] == 4  # MiB: grpc's default receive limit, which the server keeps
    assert numbers["watch streams"] == [Settings(proxy_secret="x" * 16).max_watches_per_user]
    assert "DRIFT_MONITOR_RATE_LIMIT" in limits["requests"] and numbers["requests"][0] == 1000  # envoy/render.py's default


def test_an_oversized_run_is_rejected_not_retried_and_does_not_block_the_spool(envoy, ca_pem, issuer, tmp_path):
    """A run over the message limit can never be stored: the client says so at once, and a spooled one
    is set aside as .rejected instead of holding back the runs spooled after it."""
    import os
    import time

    from drift_monitoring import Client, sync
    from drift_monitoring.errors import InvalidArgumentError
    from drift_monitoring.offline import spool_for

    settings = {"url": f"localhost:{envoy.port}", "ca_bundle": str(ca_pem), "token": issuer.token("manager"), "state_dir": tmp_path, "timeout": 3}
    with Client(**settings) as client:
        client.register()
        name = f"limits-{time.time_ns()}"
        experiment = client.new_experiment(name)
        huge = drift_pb2.Drift(model="m", tags=["t" * 100] * 50_000)
        started = time.monotonic()
        with pytest.raises(InvalidArgumentError):
            client.create_drift(experiment.id, huge, "huge-run")
        assert time.monotonic() - started < 1
        spool = spool_for(client.settings)
        from google.protobuf import json_format

        poisoned = spool.add({"experiment": name, "request_id": "huge", "drift": json_format.MessageToDict(huge)})
        fine = spool.add({"experiment": name, "request_id": "fine", "drift": {"model": "m", "status": "DRIFT_STATUS_COMPLETED"}})
        os.utime(poisoned, (1, 1))  # the oldest: sent first
        assert sync(client) == (1, 0)
        assert poisoned.with_name(poisoned.name + ".rejected").exists() and not fine.exists()
        assert [d.status for d in client.list_drifts(experiment.id)] == [drift_pb2.DRIFT_STATUS_COMPLETED]
