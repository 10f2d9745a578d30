"""A rotating mytoken shared by the Python and Go clients on one machine: each saves the successor where
the other looks for it, so a job can move between them without its mytoken going stale."""

from __future__ import annotations

import json
import uuid

import pytest

from drift_monitoring import Client
from drift_monitoring.auth import MyTokenSource
from tests.client.test_mytoken import FakeMyToken
from tests.clients.gotool import download, go


@pytest.fixture
def mytoken_server(issuer):
    fake = FakeMyToken(issuer)
    yield fake
    fake.close()


def test_python_and_go_hand_the_rotated_mytoken_to_each_other(mytoken_server, edge_env, tmp_path):
    state = tmp_path / "state"
    settings = {"url": edge_env["DRIFT_MONITOR_URL"], "ca_bundle": edge_env["DRIFT_MONITOR_CA_BUNDLE"], "state_dir": state, "timeout": 10}
    name = f"mytoken-shared-{uuid.uuid4().hex[:8]}"
    with Client(**settings, tokens=MyTokenSource("mt-0", mytoken_server.url, state)) as client:
        client.register()
        client.new_experiment(name)
    assert mytoken_server.valid == {"mt-1"}  # Python rotated mt-0 away and saved mt-1

    env = {key: value for key, value in edge_env.items() if key != "DRIFT_MONITOR_TOKEN"}
    env |= {"DRIFT_MONITOR_TOKEN": "", "DRIFT_MONITOR_MYTOKEN": "mt-0", "MYTOKEN_SERVER": mytoken_server.url, "DRIFT_MONITOR_STATE_DIR": str(state)}
    download(env)
    result = go("run", "./cmd/record-drift", "-experiment", name, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "DRIFT_STATUS_COMPLETED"
    assert mytoken_server.seen == ["mt-0", "mt-1"]  # Go started from Python's mt-1, not the configured mt-0

    with Client(**settings, tokens=MyTokenSource("mt-0", mytoken_server.url, state)) as client:
        assert client.find_experiment(name).name == name  # and Python goes on from Go's mt-2
    assert mytoken_server.seen == ["mt-0", "mt-1", "mt-2"]
