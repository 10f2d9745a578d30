"""Ingest: N jobs (start a run, record concept and data drift with 20 parameters each, finish) by 1, 8 and
32 concurrent clients: this project through Envoy (TLS + token) with DriftMonitor, and MLflow's tracking
server with start_run / log_params / log_metrics / end_run, in the same run, interleaved round by round
(the order alternates so neither always runs on a warmer machine).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from typing import Any

from bench.common import ROOT, latency
from stack import Stack
from bench.mlflow_peer import PYTHON as MLFLOW_PYTHON
from bench.mlflow_peer import PEER_ENV, MlflowServer

WORKERS = ROOT / "bench" / "workers"


def _run(command: list[str]) -> dict[str, Any]:
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800, env=PEER_ENV)
    if done.returncode != 0:
        raise RuntimeError(f"{command[1]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(stack: Stack, mlflow: MlflowServer, concurrency: list[int], jobs_per_level: int, rounds: int) -> dict[str, Any]:
    settings = {k: str(v) for k, v in stack.settings().items()}
    experiment = f"bench-ingest-{uuid.uuid4().hex[:6]}"
    from drift_monitoring import Client

    with Client(**stack.settings()) as client:
        client.register()
        client.new_experiment(experiment)
    levels = {}
    for clients in concurrency:
        per_client = max(1, jobs_per_level // clients // rounds)
        samples: dict[str, list[dict[str, Any]]] = {"drift_monitoring": [], "mlflow": []}
        for round_ in range(rounds):
            commands = {
                "drift_monitoring": [sys.executable, str(WORKERS / "dm_jobs.py"), "--settings", json.dumps(settings),
                                     "--experiment", experiment, "--clients", str(clients), "--jobs", str(per_client)],
                "mlflow": [str(MLFLOW_PYTHON), str(WORKERS / "mlflow_jobs.py"), "--tracking-uri", mlflow.uri,
                           "--experiment", experiment, "--clients", str(clients), "--jobs", str(per_client)],
            }
            order = list(commands) if round_ % 2 == 0 else list(reversed(commands))
            for name in order:
                samples[name].append(_run(commands[name]))
        level: dict[str, Any] = {}
        for name, runs in samples.items():
            jobs = sum(r["jobs"] for r in runs)
            seconds = sum(r["seconds"] for r in runs)
            level[name] = {"jobs": jobs, "seconds": round(seconds, 2), "jobs_per_s": round(jobs / seconds, 2), "failed": sum(r["failed"] for r in runs),
                           **latency([x for r in runs for x in r["latencies_ms"]])}
        rates = {name: level[name]["jobs"] / level[name]["seconds"] for name in samples}
        level["ratio_jobs_per_s"] = round(rates["drift_monitoring"] / rates["mlflow"], 2)
        levels[str(clients)] = level
        print(f"ingest {clients:>2} clients: drift-monitoring {level['drift_monitoring']['jobs_per_s']:7.1f} jobs/s "
              f"p50 {level['drift_monitoring']['p50_ms']:7.1f} p99 {level['drift_monitoring']['p99_ms']:7.1f} ms | "
              f"mlflow {level['mlflow']['jobs_per_s']:7.1f} jobs/s p50 {level['mlflow']['p50_ms']:7.1f} p99 {level['mlflow']['p99_ms']:7.1f} ms "
              f"| ratio {level['ratio_jobs_per_s']}", flush=True)
    return {"levels": levels, "mlflow_command": " ".join(mlflow.command[1:]), "jobs_per_level": jobs_per_level, "rounds": rounds}
