"""A child process with a log, a readiness check, and SIGKILL + restart on the same argv (so the same port)."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], what: str, log: Path, process: subprocess.Popen[bytes] | None = None,
               timeout: float = 60) -> None:
    """Poll check() until it is true; fail with the log's tail when the process died or time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        try:
            if check():
                return
        except (OSError, httpx.HTTPError, grpc.RpcError):
            pass
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)"
    raise AssertionError(f"{what} did not become ready:\n{tail}")


class Service:
    """Subclasses set what to run and override ready(); start() launches and waits, restart() reuses argv."""

    what = "service"

    def __init__(self, name: str, argv: list[str], directory: Path, env: dict[str, str] | None = None) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.log = directory / f"{name}.log"
        directory.mkdir(parents=True, exist_ok=True)
        self.start()

    def ready(self) -> bool:
        return True

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_until(self.ready, self.what, self.log, self.process)
        except AssertionError:
            self.kill()
            raise

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, as when a machine or the OOM killer takes it."""
        self.stop(signal.SIGKILL, timeout=10)

    def restart(self) -> None:
        self.kill()
        self.start()
