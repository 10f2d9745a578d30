"""A private stack for the dashboard benchmarks: FerretDB, the sandbox issuer, one server and Envoy with
TLS, all on free ports with state in a temporary directory (the same pieces the tests use)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from drift_monitoring import Client, Settings  # noqa: E402
from drift_monitoring.v1 import drift_pb2  # noqa: E402
from scripts import certs  # noqa: E402
from tests.harness import Envoy, Issuer, ServerProcess, free_port  # noqa: E402


@dataclass
class Stack:
    settings: Settings
    issuer: Issuer
    server: ServerProcess
    envoy: Envoy


@contextmanager
def stack(persona: str = "manager") -> Iterator[Stack]:
    # SIGTERM (timeout, kill) unwinds like Ctrl-C, so the processes below are stopped, not orphaned.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="dm-tui-bench-") as tmp:
        run = Path(tmp)
        address = f"127.0.0.1:{free_port()}"
        env = {**os.environ, "FERRETDB_ADDR": address, "FERRETDB_STATE": str(run / "ferretdb")}
        script = str(ROOT / "scripts" / "ferretdb.sh")
        subprocess.run([script, "start"], check=True, env=env, stdout=subprocess.DEVNULL)
        issuer = server = envoy = None
        try:
            ca = certs.ensure(run / "certs")
            issuer = Issuer(run)
            server = ServerProcess(f"mongodb://{address}/bench_{uuid.uuid4().hex[:8]}", DRIFT_MONITOR_TRUSTED_ISSUERS=issuer.url)
            envoy = Envoy(run, "envoy", server, issuer, ca.parent, "--rate-limit", "1000000")
            settings = Settings(url=f"localhost:{envoy.port}", ca_bundle=str(ca), token=issuer.token(persona), state_dir=run / "state", timeout=30)
            with Client(settings) as client:
                client.register()
            yield Stack(settings, issuer, server, envoy)
        finally:
            for part in (envoy, server, issuer):
                if part is not None:
                    part.stop()
            subprocess.run([script, "stop"], check=False, env=env, stdout=subprocess.DEVNULL)


def run(model: str, index: int, status: int = drift_pb2.DRIFT_STATUS_COMPLETED) -> drift_pb2.Drift:
    """A typical finished run: two results with parameters and a few features."""
    drift = drift_pb2.Drift(model=model, status=status, tags=["bench"])
    drift.start_time.GetCurrentTime()
    drift.concept_drift.detected = index % 7 == 0
    drift.concept_drift.parameters.update({"p_value": (index % 100) / 100, "window": 500})
    drift.data_drift.detected = index % 5 == 0
    drift.data_drift.parameters.update({"drifted_features": index % 5})
    for feature in ("age", "income", "tenure"):
        drift.data_drift.features.add(feature=feature, test="ks", statistic=0.1, p_value=0.2, threshold=0.05, detected=False)
    return drift
