"""The built-in detectors on 100 numeric features x 100,000 rows, reference and current (the issue's bar:
under 2 s), per test; and a frame with categorical columns. Prints and saves bench/results/detect.json.

    .venv/bin/python -m bench.detect

Wall time is what a job waits; CPU time is what this process used (on a shared machine the two differ, so
both are saved, with the load average). Peak memory: the numpy allocations during detect (tracemalloc),
beside the 160 MB the two arrays take."""

from __future__ import annotations

import json
import os
import time
import tracemalloc

import numpy as np

from bench.common import RESULTS, machine
from drift_monitoring.detect import detect

ROWS, FEATURES, REPEATS = 100_000, 100, 3


def measure(reference, current, **options) -> dict:
    detect(np.zeros((50, 1)), np.ones((50, 1)), numeric=options.get("numeric", "ks"))  # imports SciPy outside the timing
    walls, cpus = [], []
    for _ in range(REPEATS):
        wall, cpu = time.perf_counter(), time.process_time()
        report = detect(reference, current, **options)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    tracemalloc.start()
    detect(reference, current, **options)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"wall_s": round(min(walls), 3), "wall_s_median": round(sorted(walls)[len(walls) // 2], 3), "cpu_s": round(min(cpus), 3),
            "peak_alloc_mb": round(peak / 2**20, 1), "drifted": report.parameters["drifted_features"]}


def main() -> None:
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(ROWS, FEATURES))
    current = rng.normal(size=(ROWS, FEATURES))
    current[:, :10] += 0.05  # ten features drift a little
    results = {"rows": ROWS, "features": FEATURES, "repeats": REPEATS, "machine": machine(), "load_average": os.getloadavg(), "tests": {}}
    for test in ("ks", "wasserstein", "psi", "jensenshannon"):
        results["tests"][test] = measure(reference, current, numeric=test)
        print(f"{test:>14}: {results['tests'][test]}", flush=True)
    categorical = {f"c{i}": rng.choice(np.array(["a", "b", "c", "d"]), ROWS) for i in range(10)}
    results["tests"]["chi2 (10 string columns)"] = measure(categorical, {k: rng.permutation(v) for k, v in categorical.items()})
    print(f"{'chi2 x10':>14}: {results['tests']['chi2 (10 string columns)']}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "detect.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"saved {RESULTS / 'detect.json'}")


if __name__ == "__main__":
    main()
