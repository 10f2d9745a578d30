"""Smoke test of the real command: `python -m tui` in a tmux terminal, driven by keys, read off the screen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from drift_monitoring.v1 import drift_pb2
from stack import ROOT
from tests.tui.conftest import drift, record, unique

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (.ci/tools installs it)")


class Tmux:
    def __init__(self, command: list[str], env: dict[str, str], size: tuple[int, int] = (100, 30)) -> None:
        self.socket = f"dm-tui-{uuid.uuid4().hex[:8]}"  # a server of our own: never touches the user's tmux
        exports = " ".join(f"{k}={v!r}" for k, v in env.items())
        self.tmux("new-session", "-d", "-x", str(size[0]), "-y", str(size[1]), "-s", "tui", "-c", str(ROOT),
                  f"env {exports} {' '.join(command)}; echo EXITED $?; sleep 30")

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True, capture_output=True, text=True).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "tui")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "tui", *keys)

    def wait_for(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} not on screen after {timeout}s:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], check=False, capture_output=True)


def test_real_command_in_tmux(tui_settings, client):
    experiment = client.new_experiment(unique("tui-tmux"))
    record(client, experiment.id, [
        drift("tmux-model-ok", minute=1),
        drift("tmux-model-bad", minute=2, status=drift_pb2.DRIFT_STATUS_FAILED, concept=None, error="boom"),
    ])
    s = tui_settings
    env = {"DRIFT_MONITOR_URL": s.url, "DRIFT_MONITOR_TOKEN": s.token, "DRIFT_MONITOR_CA_BUNDLE": s.ca_bundle,
           "DRIFT_MONITOR_STATE_DIR": str(s.state_dir), "TERM": "xterm-256color", "PATH": os.environ["PATH"]}
    # --experiment opens it at start (the session's database holds other tests' experiments too; the
    # search path is covered by the pilot tests, where the app's state can be waited on exactly).
    terminal = Tmux([sys.executable, "-m", "tui", "--experiment", experiment.name], env)
    try:
        screen = terminal.wait_for("tmux-model-bad")
        assert "connected" in terminal.wait_for("Max Manager")
        screen = terminal.screen()
        assert "tmux-model-ok" in screen and "FAILED" in screen
        terminal.keys("f")
        # Textual moves the focus to the filter a moment after `f` (call_later): on a loaded machine keys sent
        # at once could still reach the runs table's bindings (`s` sort, `a` alerts) instead of the filter.
        time.sleep(0.5)
        terminal.keys("-l", "status = FAILED")
        terminal.keys("Enter")
        deadline = time.monotonic() + 15
        while "tmux-model-ok" in (screen := terminal.screen()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "tmux-model-ok" not in screen and "tmux-model-bad" in screen
        terminal.keys("Enter")
        assert "boom" in terminal.wait_for("Error")
        terminal.keys("q")
        assert "EXITED 0" in terminal.wait_for("EXITED")
        assert "Traceback" not in terminal.screen()
    finally:
        terminal.close()
