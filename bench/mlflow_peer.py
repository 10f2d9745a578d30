"""MLflow's tracking server on SQLite, on this machine, as users run it: the peer of the ingest benchmark.

MLflow lives in a venv of the benchmark's own (bench/requirements.txt, made by `make bench-venv`), so the
project never depends on it. BENCH_VENV points elsewhere.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx

from bench.common import ROOT, free_port

VENV = Path(os.environ.get("BENCH_VENV", ROOT / ".run" / "bench-venv"))
PYTHON = VENV / "bin" / "python"
# No telemetry: it would try the internet, which this machine cannot reach and users' machines can.
PEER_ENV = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}


def available() -> bool:
    return (VENV / "bin" / "mlflow").exists()


class MlflowServer:
    def __init__(self, run_dir: Path) -> None:
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.dir = run_dir / "mlflow"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.command = [str(VENV / "bin" / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{self.dir / 'mlflow.db'}",
                        "--default-artifact-root", str(self.dir / "artifacts"), "--host", "127.0.0.1", "--port", str(self.port)]

    def __enter__(self) -> MlflowServer:
        self.log = (self.dir / "server.log").open("wb")
        self.process = subprocess.Popen(self.command, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True, env=PEER_ENV)
        deadline = time.monotonic() + 600  # the first start creates the SQLite schema (migrations): minutes on a busy machine
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.uri}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.__exit__()
        raise RuntimeError(f"mlflow server did not start: {(self.dir / 'server.log').read_text()[-2000:]}")

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
        self.log.close()
