"""A rotating mytoken shared by the Python and Go clients on one machine: each saves the successor where
the other looks for it, under one lock, so jobs in either language can share it without revoking each
other's mytoken."""

from __future__ import annotations

import json
import uuid

import pytest

from drift_monitoring import Client
from drift_monitoring.auth import MyTokenSource
from tests.client.test_mytoken import PYTHON_CLIENT, FakeMyToken, rotate_in_processes
from tests.clients.gotool import download, go


@pytest.fixture
def mytoken_server(issuer):
    fake = FakeMyToken(issuer, expires_in=30)  # inside the refresh margin: every call exchanges, and rotates
    yield fake
    fake.close()


def unbroken(seen: list[str]) -> bool:
    """Every exchange used the mytoken the one before it returned: nobody was refused."""
    return seen == [f"mt-{i}" for i in range(len(seen))]


def test_python_and_go_hand_the_rotated_mytoken_to_each_other(mytoken_server, edge_env, tmp_path):
    state = tmp_path / "state"
    settings = {"url": edge_env["DRIFT_MONITOR_URL"], "ca_bundle": edge_env["DRIFT_MONITOR_CA_BUNDLE"], "state_dir": state, "timeout": 10}
    name = f"mytoken-shared-{uuid.uuid4().hex[:8]}"
    with Client(**settings, tokens=MyTokenSource("mt-0", mytoken_server.url, state)) as client:
        client.register()
        client.new_experiment(name)
    python_exchanges = len(mytoken_server.seen)
    assert python_exchanges >= 2 and unbroken(mytoken_server.seen)  # Python rotated mt-0 away, and on

    env = {key: value for key, value in edge_env.items() if key != "DRIFT_MONITOR_TOKEN"}
    env |= {"DRIFT_MONITOR_TOKEN": "", "DRIFT_MONITOR_MYTOKEN": "mt-0", "MYTOKEN_SERVER": mytoken_server.url, "DRIFT_MONITOR_STATE_DIR": str(state)}
    download(env)
    result = go("run", "./cmd/record-drift", "-experiment", name, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "DRIFT_STATUS_COMPLETED"
    # Go started from Python's last mytoken, not the configured mt-0
    assert len(mytoken_server.seen) > python_exchanges and unbroken(mytoken_server.seen)

    go_exchanges = len(mytoken_server.seen)
    with Client(**settings, tokens=MyTokenSource("mt-0", mytoken_server.url, state)) as client:
        assert client.find_experiment(name).name == name  # and Python goes on from Go's
    assert len(mytoken_server.seen) > go_exchanges and unbroken(mytoken_server.seen)


def test_python_and_go_processes_share_one_rotating_mytoken(mytoken_server, tmp_path):
    binary = tmp_path / "driftmonitor.test"
    download({})
    built = go("test", "-c", "-o", str(binary), "./driftmonitor", env={})
    assert built.returncode == 0, built.stderr
    errors = rotate_in_processes([PYTHON_CLIENT, [str(binary)]] * 3, mytoken_server, tmp_path / "state", rounds=5)
    assert not errors, errors
    assert len(mytoken_server.seen) == 6 * 5 and unbroken(mytoken_server.seen)
