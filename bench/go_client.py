"""Wall time a job's monitoring costs in Go (driftmonitor.Run) and in Python (DriftMonitor), side by side
on one stack: create the run, record concept and data drift (20 parameters each), complete it, through
Envoy with TLS and a signed token.

    .venv/bin/python bench/go_client.py [--jobs 200]

Starts its own FerretDB, server, sandbox issuer and Envoy on free ports (the test harness), so it runs
beside anything else on the machine. Prints p50/p99 and writes bench/results/go_client.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from drift_monitoring import Client, DriftMonitor  # noqa: E402
from scripts import certs  # noqa: E402
from tests.harness import Envoy, Issuer, ServerProcess, free_port  # noqa: E402

PARAMETERS = {f"param_{i}": i * 0.1 for i in range(20)}  # as BenchmarkRun in clients/go


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def python_jobs(jobs: int, settings: dict) -> dict[str, float]:
    timings = []
    with Client(**settings) as client:
        client.register()
        name = f"bench-python-{int(time.time())}"
        client.new_experiment(name)
        for _ in range(jobs):
            started = time.perf_counter()
            with DriftMonitor(name, "bench-model", client=client) as monitor:
                monitor.concept(False, PARAMETERS)
                monitor.data(True, PARAMETERS)
            timings.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": round(statistics.median(timings), 2), "p99_ms": round(percentile(timings, 0.99), 2)}


def go_jobs(jobs: int, env: dict[str, str]) -> dict[str, float]:
    result = subprocess.run(
        ["go", "test", "-run", "^$", "-bench", "^BenchmarkRun$", "-benchtime", f"{jobs}x", "./driftmonitor"],
        cwd=ROOT / "clients" / "go", env={**os.environ, **env}, capture_output=True, text=True, check=True,
    )
    metrics = dict((unit, float(value)) for value, unit in re.findall(r"([\d.]+) (p\d+-ms)", result.stdout))
    return {"p50_ms": metrics["p50-ms"], "p99_ms": metrics["p99-ms"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=200)
    args = parser.parse_args()
    run_dir = Path(tempfile.mkdtemp(prefix="bench-go-"))
    address = f"127.0.0.1:{free_port()}"
    ferretdb = {**os.environ, "FERRETDB_ADDR": address, "FERRETDB_STATE": str(run_dir / "ferretdb")}
    subprocess.run([str(ROOT / "scripts" / "ferretdb.sh"), "start"], check=True, env=ferretdb)
    issuer = server = envoy = None
    try:
        ca_pem = certs.ensure(run_dir / "certs")
        issuer = Issuer(run_dir)
        server = ServerProcess(f"mongodb://{address}/bench_go", DRIFT_MONITOR_TRUSTED_ISSUERS=issuer.url)
        envoy = Envoy(run_dir, "envoy", server, issuer, ca_pem.parent, "--rate-limit", "100000")
        token = issuer.token("manager", lifetime=7200)
        env = {"DRIFT_MONITOR_URL": f"localhost:{envoy.port}", "DRIFT_MONITOR_CA_BUNDLE": str(ca_pem), "DRIFT_MONITOR_TOKEN": token}
        settings = {"url": env["DRIFT_MONITOR_URL"], "ca_bundle": str(ca_pem), "token": token, "state_dir": run_dir / "client"}
        go_jobs(10, env), python_jobs(10, settings)  # warm-up (and the Go build)
        result = {"benchmark": "go_client", "jobs": args.jobs, "go": go_jobs(args.jobs, env), "python": python_jobs(args.jobs, settings)}
        # The machine is shared: the load says how much of the time is waiting for a core.
        result["load_average_1m"] = round(os.getloadavg()[0], 2)
    finally:
        for process in (envoy, server, issuer):
            if process:
                process.stop()
        subprocess.run([str(ROOT / "scripts" / "ferretdb.sh"), "stop"], check=False, env=ferretdb)
    out = ROOT / "bench" / "results" / "go_client.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    for key in ("go", "python"):
        print(f"{key:<8} p50 {result[key]['p50_ms']:8.2f} ms   p99 {result[key]['p99_ms']:8.2f} ms")
    print(f"saved {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
