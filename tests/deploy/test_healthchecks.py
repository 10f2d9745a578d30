"""The compose healthchecks of the backend and Envoy, run as written against a real server and Envoy.

In compose they run inside the container against its fixed ports; here the same command is run with
the port of this session's server or Envoy admin put in, so a typo or a wrong expectation fails here.
"""

from __future__ import annotations

import subprocess
import sys

from tests.deploy.conftest import rendered
from stack import ROOT


def healthcheck(service: str, old: str, new: str) -> list[str]:
    """The service's healthcheck command with `old` (its in-container address) replaced by `new`."""
    test = rendered("base")["services"][service]["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1] == "python"
    assert any(old in part for part in test), test
    return [sys.executable, *[part.replace(old, new) for part in test[2:]]]


def run(command: list[str]) -> int:
    return subprocess.run(command, cwd=ROOT, capture_output=True, timeout=30).returncode


def test_backend_healthcheck_passes_on_a_serving_server_and_fails_without_one(server) -> None:
    assert run(healthcheck("backend", "127.0.0.1:50051", server.target)) == 0
    assert run(healthcheck("backend", "127.0.0.1:50051", "127.0.0.1:1")) != 0


def test_envoy_healthcheck_passes_on_a_live_envoy_and_fails_without_one(envoy) -> None:
    assert run(healthcheck("envoy", "127.0.0.1:9901", f"127.0.0.1:{envoy.admin_port}")) == 0
    assert run(healthcheck("envoy", "127.0.0.1:9901", "127.0.0.1:1")) != 0
