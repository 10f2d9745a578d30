"""examples/live_drift.py runs briefly against the test stack, as `make run` starts it: it creates its
experiment and records runs with the built-in detectors' results."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from drift_monitoring.v1 import drift_pb2
from stack import ROOT


def test_the_example_job_records_live_runs(client, settings):
    name = f"live-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DRIFT_MONITOR_URL": settings["url"], "DRIFT_MONITOR_CA_BUNDLE": settings["ca_bundle"],
           "DRIFT_MONITOR_TOKEN": settings["token"], "DRIFT_MONITOR_STATE_DIR": str(settings["state_dir"])}
    command = [sys.executable, "examples/live_drift.py", "--interval", "0.2", "--runs", "3", "--experiment", name]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=100)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = list(client.list_drifts(client.find_experiment(name).id))
    assert len(runs) == 3 and all(run.status == drift_pb2.DRIFT_STATUS_COMPLETED for run in runs)
    for run in runs:
        features = {f.feature: f for f in run.data_drift.features}
        assert set(features) == {"age", "income", "loan_amount", "tenure_months", "channel", "region"}
        assert features["age"].test == "ks" and features["channel"].test == "chi2"
        assert run.data_drift.parameters["correction"] == "bh" and run.data_drift.parameters["reference_size"] == 4000
        assert run.concept_drift.features[0].feature == "error"
    # The wave: the first window is the reference's distribution, the later ones have moved.
    latest = max(runs, key=lambda run: run.start_time.ToDatetime())
    assert latest.data_drift.detected and latest.data_drift.features
