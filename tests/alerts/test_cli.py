"""`drift-monitor alerts ...` (docs/alerts.md, The command line) as a user runs it, through Envoy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

from drift_monitoring.v1 import drift_pb2
from stack import ROOT
from tests.alerts.test_conditions import types, verified


def cli(stack, *args: str) -> subprocess.CompletedProcess[str]:  # noqa: ANN001
    env = {**os.environ, "DRIFT_MONITOR_URL": stack.target, "DRIFT_MONITOR_TOKEN": stack.token("manager"),
           "DRIFT_MONITOR_CA_BUNDLE": str(stack.ca_pem), "DRIFT_MONITOR_STATE_DIR": str(stack.directory / "cli-state")}
    return subprocess.run([sys.executable, "-m", "drift_monitoring", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_create_list_test_firings_delete(stack, receiver, api):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    assert cli(stack, "experiments", "create", name).returncode == 0
    path = f"ok/cli-{uuid.uuid4().hex[:6]}"
    made = cli(stack, "--json", "alerts", "create", name, "--name", "nightly failed", "--condition", "failed", "--webhook", receiver.url(path))
    assert made.returncode == 0, made.stderr
    rule = json.loads(made.stdout)[0]
    assert rule["channel"]["webhook"]["secret"].startswith("whsec_")
    listed = cli(stack, "alerts", "list", name)
    assert rule["id"] in listed.stdout and "nightly failed" in listed.stdout and "whsec_" not in listed.stdout
    tested = cli(stack, "alerts", "test", name, rule["id"])
    assert tested.returncode == 0 and tested.stdout.startswith("delivered (200"), tested.stdout + tested.stderr
    found = receiver.wait(path, lambda f: len(f) == 1)
    assert types(found) == ["alert.test"]
    verified(found, rule["channel"]["webhook"]["secret"])
    api.drift(rule["experiment_id"], model="m", status=drift_pb2.DRIFT_STATUS_FAILED)
    receiver.wait(path, lambda f: len(f) == 2)
    firings = cli(stack, "alerts", "firings", name)
    assert " FIRING " in firings.stdout, firings.stdout
    bad = cli(stack, "alerts", "create", name, "--name", "x", "--condition", "k-of-n:5/3", "--webhook", receiver.url(path))
    assert bad.returncode == 1 and "rule.condition.k_of_n.k" in bad.stderr
    assert cli(stack, "alerts", "delete", name, rule["id"]).returncode == 0
    assert rule["id"] not in cli(stack, "alerts", "list", name).stdout
