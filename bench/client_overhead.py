"""Wall time DriftMonitor adds to a job: enter + concept + data + exit, through Envoy with TLS.

    make up && .venv/bin/python bench/client_overhead.py [--jobs 200]

Also the offline path: the server unreachable (a closed port), where the run goes to the spool.
Prints p50/p99 and writes bench/results/client_overhead.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from drift_monitoring import Client, DriftMonitor  # noqa: E402

PARAMETERS = {f"param_{i}": i * 0.1 for i in range(20)}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_jobs(jobs: int, experiment: str, settings: dict) -> list[float]:
    timings = []
    with Client(**settings) as client:
        for _ in range(jobs):
            started = time.perf_counter()
            with DriftMonitor(experiment, "bench-model", client=client) as monitor:
                monitor.concept(False, PARAMETERS)
                monitor.data(True, PARAMETERS)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=200)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the offline path warns once per job by design
    token = subprocess.run([sys.executable, "-m", "sandbox.issuer", "token", "manager"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    state = Path(tempfile.mkdtemp())
    online = {"url": "localhost:8443", "ca_bundle": str(ROOT / ".run" / "certs" / "ca.pem"), "token": token, "state_dir": state}
    with Client(**online) as client:
        client.register()
        name = f"bench-client-{int(time.time())}"
        client.new_experiment(name)
    run_jobs(10, name, online)  # warm-up
    up = run_jobs(args.jobs, name, online)
    down = run_jobs(args.jobs, name, {**online, "url": "localhost:9", "timeout": 1})

    result = {
        "benchmark": "client_overhead",
        "jobs": args.jobs,
        "server_up": {"p50_ms": round(statistics.median(up), 2), "p99_ms": round(percentile(up, 0.99), 2)},
        "server_down": {"p50_ms": round(statistics.median(down), 2), "p99_ms": round(percentile(down, 0.99), 2)},
    }
    out = ROOT / "bench" / "results" / "client_overhead.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    for key in ("server_up", "server_down"):
        print(f"{key:<12} p50 {result[key]['p50_ms']:8.2f} ms   p99 {result[key]['p99_ms']:8.2f} ms")
    print(f"saved {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
