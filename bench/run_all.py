"""Run every benchmark on a private stack and write bench/results/*.json, SUMMARY.md and PNG plots.

    make bench                      # the full run (under 30 minutes on 2 cores)
    .venv/bin/python -m bench.run_all --quick    # a smoke of each (make test runs it)

MLflow, the peer of the ingest benchmark, runs from the benchmark venv (`make bench-venv`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from bench import ingest, overhead, query_scale, watch_fanout
from bench.common import RESULTS, ROOT, bench_stack, save
from bench.mlflow_peer import PYTHON as MLFLOW_PYTHON
from bench.mlflow_peer import MlflowServer, available

FULL = {"overhead_jobs": 200, "concurrency": [1, 8, 32], "ingest_jobs": 192, "rounds": 2, "bulk": 1000,
        "watchers": 1000, "watch_rate": 2.0, "watch_seconds": 30.0, "sizes": [1000, 3000, 10_000], "repeats": 3}
QUICK = {"overhead_jobs": 5, "concurrency": [1, 2], "ingest_jobs": 4, "rounds": 2, "bulk": 20,
         "watchers": 20, "watch_rate": 2.0, "watch_seconds": 2.0, "sizes": [50, 120], "repeats": 2}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the benchmarks still run")
    parser.add_argument("--only", nargs="*", choices=["overhead", "ingest", "bulk", "watch", "query"], help="a subset")
    args = parser.parse_args()
    if not available():
        print("MLflow is missing: run `make bench-venv` first (the ingest peer)", file=sys.stderr)
        return 2
    p = QUICK if args.quick else FULL
    wanted = set(args.only or ["overhead", "ingest", "bulk", "watch", "query"])
    began = time.monotonic()
    with bench_stack() as stack:
        if "overhead" in wanted:
            save("client_overhead", overhead.run(stack, p["overhead_jobs"]), args.quick)
        if "ingest" in wanted:
            with MlflowServer(stack.directory) as mlflow:
                save("ingest", ingest.run(stack, mlflow, p["concurrency"], p["ingest_jobs"], p["rounds"]), args.quick)
        if "bulk" in wanted:
            save("bulk", query_scale.bulk(stack, p["bulk"]), args.quick)
        if "watch" in wanted:
            save("watch_fanout", watch_fanout.run(stack, p["watchers"], p["watch_rate"], p["watch_seconds"]), args.quick)
        if "query" in wanted:  # last: it grows the database
            save("query_scale", query_scale.run(stack, p["sizes"], p["repeats"]), args.quick)
    print(f"benchmarks took {time.monotonic() - began:.0f} s")
    # The report needs matplotlib, which lives in the benchmark venv with MLflow.
    report = [str(MLFLOW_PYTHON), str(ROOT / "bench" / "report.py"), *(["--quick"] if args.quick else [])]
    subprocess.run(report, check=True, cwd=ROOT)
    print(f"results in {RESULTS.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
