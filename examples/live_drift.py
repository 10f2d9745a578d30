"""A drift job on generated data: every few seconds a new window of "credit applications" is tested against
the reference with the built-in detectors and recorded, so a dashboard shows live, realistic runs.

    DRIFT_MONITOR_URL=... DRIFT_MONITOR_TOKEN=... python examples/live_drift.py [--interval 5] [--runs N]

The data drifts slowly and comes back: income and age follow a slow wave, the share of "online" applications
grows, and the model's errors widen with them; the other features stay put. `make run` starts it.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import pandas as pd

from drift_monitoring import Client, DriftMonitor, NotFoundError
from drift_monitoring.detect import concept_drift, detect

EXPERIMENT = "live-credit-example"
ROWS = 4000


def window(rng: np.random.Generator, phase: float) -> tuple[pd.DataFrame, np.ndarray]:
    """One window of applications at a point of the wave (phase 0: like the reference) and the model's errors."""
    shift = max(0.0, math.sin(phase))
    frame = pd.DataFrame({
        "age": rng.normal(41 + 4 * shift, 11, ROWS),
        "income": rng.lognormal(10.4 + 0.15 * shift, 0.6, ROWS),
        "loan_amount": rng.gamma(2.0, 6000, ROWS),
        "tenure_months": rng.poisson(30, ROWS).astype(float),
        "channel": rng.choice(["branch", "online", "partner"], ROWS, p=[0.5 - 0.2 * shift, 0.35 + 0.2 * shift, 0.15]),
        "region": rng.choice(["north", "south", "east", "west"], ROWS),
    })
    errors = np.abs(rng.normal(0, 1 + 0.5 * shift, ROWS))
    return frame, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between runs")
    parser.add_argument("--runs", type=int, default=0, help="stop after this many runs (0: never)")
    parser.add_argument("--experiment", default=EXPERIMENT)
    args = parser.parse_args()
    with Client() as client:
        client.register()
        try:
            client.find_experiment(args.experiment)
        except NotFoundError:
            client.new_experiment(args.experiment, "generated credit applications, tested every few seconds (examples/live_drift.py)")
    rng = np.random.default_rng()
    reference, reference_errors = window(rng, 0.0)
    count = 0
    while not args.runs or count < args.runs:
        current, errors = window(rng, count / 6)
        with DriftMonitor(args.experiment, "xgb-credit-v3", tags=["example"]) as monitor:
            monitor.data(detect(reference, current, numeric="ks", correction="bh"))
            monitor.concept(concept_drift(reference_errors, errors))
        count += 1
        time.sleep(args.interval)


if __name__ == "__main__":
    main()
