"""A job's monitoring in Go (driftmonitor.Run) and in Python (DriftMonitor), side by side on one stack:
create the run, record concept and data drift (20 parameters each), complete it, through Envoy with
TLS and a signed token.

    .venv/bin/python -m bench.go_client [--jobs 200]

Go's Run is synchronous: a job waits for each call. Python's DriftMonitor sends in the background and
coalesces, so its job time is small; both report the mean time per job until every run had arrived.
Writes bench/results/go_client.json.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
import uuid
from typing import Any

from bench.common import ROOT, bench_stack, latency, save
from stack import Stack
from drift_monitoring import Client, DriftMonitor, flush

PARAMETERS = {f"param_{i}": i * 0.1 for i in range(20)}  # as BenchmarkRun in clients/go


def python_jobs(stack: Stack, jobs: int) -> dict[str, Any]:
    timings = []
    with Client(**stack.settings()) as client:
        client.register()
        name = f"bench-python-{uuid.uuid4().hex[:8]}"
        client.new_experiment(name)
        begun = time.perf_counter()
        for _ in range(jobs):
            started = time.perf_counter()
            with DriftMonitor(name, "bench-model", client=client) as monitor:
                monitor.concept(False, PARAMETERS)
                monitor.data(True, PARAMETERS)
            timings.append((time.perf_counter() - started) * 1000)
        assert flush(120), "runs not delivered"
        delivered = (time.perf_counter() - begun) * 1000 / jobs
    return {"job": latency(timings), "mean_until_delivered_ms": round(delivered, 2)}


def go_jobs(stack: Stack, jobs: int) -> dict[str, Any]:
    env = {**os.environ, "DRIFT_MONITOR_URL": stack.target, "DRIFT_MONITOR_CA_BUNDLE": str(stack.ca_pem), "DRIFT_MONITOR_TOKEN": stack.token()}
    result = subprocess.run(
        ["go", "test", "-run", "^$", "-bench", "^BenchmarkRun$", "-benchtime", f"{jobs}x", "./driftmonitor"],
        cwd=ROOT / "clients" / "go", env=env, capture_output=True, text=True, check=True,
    )
    metrics = {unit: float(value) for value, unit in re.findall(r"([\d.]+) (p\d+-ms|ns/op)", result.stdout)}
    return {"job": {"n": jobs, "p50_ms": metrics["p50-ms"], "p99_ms": metrics["p99-ms"]}, "mean_until_delivered_ms": round(metrics["ns/op"] / 1e6, 2)}


def run(stack: Stack, jobs: int) -> dict[str, Any]:
    go_jobs(stack, 10), python_jobs(stack, 10)  # warm-up (and the Go build)
    # The machine may be shared: the load says how much of the time was waiting for a core.
    return {"jobs": jobs, "go": go_jobs(stack, jobs), "python": python_jobs(stack, jobs), "load_average_1m": round(os.getloadavg()[0], 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=200)
    args = parser.parse_args()
    with bench_stack() as stack:
        result = run(stack, args.jobs)
    out = save("go_client", result)
    for key in ("go", "python"):
        numbers = result[key]
        print(f"{key:<8} job p50 {numbers['job']['p50_ms']:8.2f} ms   p99 {numbers['job']['p99_ms']:8.2f} ms   "
              f"until delivered {numbers['mean_until_delivered_ms']:8.2f} ms/job")
    print(f"saved {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
