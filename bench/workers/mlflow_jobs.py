"""The same job loops against an MLflow tracking server: start_run, log_params, log_metrics, end_run.

Run by bench/ingest.py in the benchmark's own venv (MLflow is not a dependency of the project):
    python bench/workers/mlflow_jobs.py --tracking-uri http://127.0.0.1:5000 --experiment NAME --clients 8 --jobs 10

The values match dm_jobs.py: 20 detector settings as params, the two verdicts and 20 outputs as metrics.
"""

from __future__ import annotations

import argparse
import json
import threading
import time

import mlflow

PARAMS = {f"concept_param_{i}": i * 0.1 for i in range(20)}
METRICS = {"concept_drift_detected": 0.0, "data_drift_detected": 1.0, **{f"data_param_{i}": i * 0.2 for i in range(20)}}


def client_loop(experiment_id: str, jobs: int, start: threading.Barrier, out: list[float], failed: list[int]) -> None:
    start.wait()
    for _ in range(jobs):
        began = time.perf_counter()
        try:
            with mlflow.start_run(experiment_id=experiment_id):  # the active run is per thread
                mlflow.log_params(PARAMS)
                mlflow.log_metrics(METRICS)
            failed.append(0)
        except Exception:  # noqa: BLE001 - a failed job is counted, not fatal to the benchmark
            failed.append(1)
        out.append((time.perf_counter() - began) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=10, help="jobs per client")
    args = parser.parse_args()
    mlflow.set_tracking_uri(args.tracking_uri)
    found = mlflow.get_experiment_by_name(args.experiment)
    experiment_id = found.experiment_id if found else mlflow.create_experiment(args.experiment)
    latencies: list[float] = []
    failed: list[int] = []
    start = threading.Barrier(args.clients + 1)
    threads = [threading.Thread(target=client_loop, args=(experiment_id, args.jobs, start, latencies, failed)) for _ in range(args.clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    print(json.dumps({"jobs": len(latencies), "seconds": time.perf_counter() - began, "latencies_ms": latencies, "failed": sum(failed)}))


if __name__ == "__main__":
    main()
