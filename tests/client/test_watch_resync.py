"""A resume token older than the server's event log: OutOfRangeError (resync), never a retry loop."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid

import grpc
import pymongo
import pytest

from drift_monitoring import Client, DriftMonitorError, InvalidArgumentError, OutOfRangeError
from drift_monitoring.v1 import drift_pb2, drift_pb2_grpc
from stack import ROOT, Envoy, Server
from tests.integration.helpers import gateway_metadata


def test_a_token_older_than_the_log_is_out_of_range(stale_watch, ca_pem, issuer):
    settings = {"url": f"localhost:{stale_watch.envoy.port}", "ca_bundle": str(ca_pem), "token": issuer.token("manager"), "timeout": 5}
    with Client(**settings) as client:
        with pytest.raises(OutOfRangeError, match="older than the event log keeps") as raised:
            next(client.watch_drifts(stale_watch.experiment_id, stale_watch.token))
        assert not isinstance(raised.value, InvalidArgumentError)  # nothing to fix in the request
        watching = client.watch_drifts(stale_watch.experiment_id)  # from the present: fine
        assert next(watching).resume_token
        watching.close()


def test_out_of_range_is_its_own_kind_of_error():
    assert issubclass(OutOfRangeError, DriftMonitorError) and not issubclass(OutOfRangeError, InvalidArgumentError)


def test_the_cli_watch_says_changes_were_missed_and_goes_on_from_now(mongo_base, issuer, ca_pem, tmp_path):
    """`drift-monitor watch` through an outage longer than the event log keeps (issue 15.5): its reconnect gets
    OUT_OF_RANGE; it says so on stderr and goes on from now (it used to exit with the error)."""
    name = f"dm_cli_stale_{uuid.uuid4().hex[:10]}"
    uri = f"{mongo_base}/{name}"
    options = {"DRIFT_MONITOR_EVENT_RETENTION": "100", "DRIFT_MONITOR_TRUSTED_ISSUERS": issuer.url}
    server = Server(uri, **options)
    edge = Envoy(tmp_path, "envoy", server, issuer, ca_pem.parent, "--rate-limit", "100000")
    watcher = None
    try:
        settings = {"url": f"localhost:{edge.port}", "ca_bundle": str(ca_pem), "token": issuer.token("manager"), "timeout": 5}
        env = {**os.environ, "DRIFT_MONITOR_URL": settings["url"], "DRIFT_MONITOR_TOKEN": settings["token"],
               "DRIFT_MONITOR_CA_BUNDLE": settings["ca_bundle"], "DRIFT_MONITOR_STATE_DIR": str(tmp_path / "state")}
        with Client(**settings) as client:
            client.register()
            experiment = client.new_experiment(f"cli-stale-{uuid.uuid4().hex[:8]}")
            watcher = subprocess.Popen([sys.executable, "-m", "drift_monitoring", "watch", experiment.name, "--count", "3"],
                                       cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            lines: list[str] = []
            threading.Thread(target=lambda: lines.extend(iter(watcher.stdout.readline, "")), daemon=True).start()
            for _ in range(6):  # until the watch is open and has shown a run (at most 2 of its --count 3)
                client.create_drift(experiment.id, drift_pb2.Drift(model="warm-up"), uuid.uuid4().hex)
                deadline = time.monotonic() + 10
                while not lines and time.monotonic() < deadline:
                    time.sleep(0.1)
                if lines:
                    break
            assert lines, "the watch never showed a run"
        port = server.port
        server.stop()
        other = Server(uri, **options)
        try:
            with grpc.insecure_channel(other.target) as channel:
                drifts = drift_pb2_grpc.DriftServiceStub(channel)
                for batch in range(2):
                    requests = [drift_pb2.CreateDriftRequest(drift=drift_pb2.Drift(model=f"away-{batch}-{i:03d}")) for i in range(500)]
                    drifts.BatchCreateDrifts(drift_pb2.BatchCreateDriftsRequest(experiment_id=experiment.id, requests=requests),
                                             metadata=gateway_metadata(issuer.claims("manager")), timeout=120)
        finally:
            other.stop()
        server = Server(uri, port=port, **options)
        with Client(**settings) as client:
            deadline = time.monotonic() + 60
            while watcher.poll() is None and time.monotonic() < deadline:
                client.create_drift(experiment.id, drift_pb2.Drift(model="after-the-outage"), uuid.uuid4().hex)
                time.sleep(1.0)
        _, err = watcher.communicate(timeout=30)
        assert watcher.returncode == 0, err
        assert "away longer than the server keeps changes" in err and "watching from now" in err, err
        assert "after-the-outage" in lines[-1] and not any("away-" in line for line in lines), lines
    finally:
        if watcher is not None and watcher.poll() is None:
            watcher.kill()
        edge.stop()
        server.stop()
        pymongo.MongoClient(mongo_base).drop_database(name)
