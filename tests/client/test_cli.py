"""The drift-monitor command against the real stack, configured only through the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import pytest

from drift_monitoring import DriftMonitor, flush
from drift_monitoring.offline import spool_for
from drift_monitoring.settings import Settings
from stack import ROOT


@pytest.fixture
def cli(settings):
    env = {
        **os.environ,
        "DRIFT_MONITOR_URL": settings["url"],
        "DRIFT_MONITOR_TOKEN": settings["token"],
        "DRIFT_MONITOR_CA_BUNDLE": settings["ca_bundle"],
        "DRIFT_MONITOR_STATE_DIR": str(settings["state_dir"]),
    }

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """drift-monitor ARGS, asserting success unless check=False."""
        result = subprocess.run([sys.executable, "-m", "drift_monitoring", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        if check:
            assert result.returncode == 0, result.stderr
        return result

    run.env = env  # type: ignore[attr-defined]
    return run


def test_register_and_token(cli, issuer):
    assert "registered" in cli("register").stdout
    me = json.loads(cli("--json", "token").stdout)[0]
    assert me["subject"] == "manager" and me["issuer"] == issuer.url


def test_experiment_lifecycle(cli, client):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    created = json.loads(cli("--json", "experiments", "create", name, "--description", "from the CLI").stdout)[0]
    assert created["name"] == name and created["caller_access"] == "ACCESS_LEVEL_MANAGE"
    assert name in cli("experiments", "list", "--filter", f'name = "{name}"').stdout
    shown = json.loads(cli("--json", "experiments", "show", name).stdout)[0]
    assert shown["id"] == created["id"] and shown["description"] == "from the CLI"
    granted = json.loads(cli("--json", "experiments", "grant", name, "urn:example:group", "read").stdout)[0]
    assert granted["grants"] == [{"entity": "urn:example:group", "level": "ACCESS_LEVEL_READ"}]
    assert json.loads(cli("--json", "experiments", "delete", name).stdout) == {"deleted": created["id"]}
    missing = cli("experiments", "show", name, check=False)
    assert missing.returncode == 1 and f"no experiment named '{name}'" in missing.stderr


def test_drifts_list_with_filter(cli, experiment, settings):
    for detected in (True, False):
        with DriftMonitor(experiment.name, f"model-{detected}", **settings) as monitor:
            monitor.data(detected, {"p": 0.01 if detected else 0.5})
    assert flush()
    listed = json.loads(cli("--json", "drifts", experiment.name, "--filter", "data_drift.detected = true").stdout)
    assert [d["model"] for d in listed] == ["model-True"] and listed[0]["status"] == "DRIFT_STATUS_COMPLETED"
    assert "data_drift=no" in cli("drifts", experiment.name, "--filter", "data_drift.detected = false").stdout


def test_watch_prints_changes_live(cli, experiment, settings):
    watcher = subprocess.Popen(
        [sys.executable, "-m", "drift_monitoring", "--json", "watch", experiment.name, "--count", "2"],
        cwd=ROOT, env=cli.env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        time.sleep(5.0)  # let the stream open before the run starts (slow on a loaded 2-core machine)
        with DriftMonitor(experiment.name, "watched", **settings):
            pass
        out, err = watcher.communicate(timeout=30)
    finally:
        watcher.kill()
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["type"] for e in events] == ["DRIFT_EVENT_TYPE_CREATED", "DRIFT_EVENT_TYPE_UPDATED"], err
    assert events[1]["drift"]["status"] == "DRIFT_STATUS_COMPLETED"


def test_sync_sends_spooled_runs(cli, experiment, settings, client):
    offline = {**settings, "url": "localhost:9", "timeout": 0.5}
    with DriftMonitor(experiment.name, "spooled", **offline):
        pass
    flush()  # the background sender is done with the spool before it moves
    spool_for(Settings(**offline)).directory.rename(spool_for(client.settings).directory)
    assert json.loads(cli("--json", "sync").stdout) == {"sent": 1, "left": 0}
    assert [d.model for d in client.list_drifts(experiment.id)] == ["spooled"]
