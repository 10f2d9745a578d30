"""The dashboard benchmarks' stack: stack.Stack (FerretDB, the sandbox issuer, one server and Envoy with TLS,
all on free ports with state in a temporary directory) and a registered persona's client settings."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from drift_monitoring import Client, Settings  # noqa: E402
from drift_monitoring.v1 import drift_pb2  # noqa: E402
from stack import Stack  # noqa: E402


@dataclass
class TuiStack:
    settings: Settings
    stack: Stack


@contextmanager
def stack(persona: str = "manager") -> Iterator[TuiStack]:
    # SIGTERM (timeout, kill) unwinds like Ctrl-C, so the processes below are stopped, not orphaned.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with Stack(envoy_args=("--rate-limit", "1000000")) as own:
        settings = Settings(**own.settings(persona, timeout=30))
        with Client(settings) as client:
            client.register()
        yield TuiStack(settings, own)


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
