"""Job loops recording runs with DriftMonitor, one thread per client; prints one JSON line.

Run by bench/ingest.py in the project's .venv:
    python bench/workers/dm_jobs.py --settings '{"url": ...}' --experiment NAME --clients 8 --jobs 10
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from drift_monitoring import Client, DriftMonitor  # noqa: E402
from drift_monitoring.offline import sender_for, spool_for  # noqa: E402

CONCEPT = {f"concept_param_{i}": i * 0.1 for i in range(20)}
DATA = {f"data_param_{i}": i * 0.2 for i in range(20)}


def client_loop(settings: dict, experiment: str, jobs: int, start: threading.Barrier, out: list[float], offline: list[int]) -> None:
    with Client(**settings) as client:
        start.wait()
        for _ in range(jobs):
            began = time.perf_counter()
            with DriftMonitor(experiment, "bench-model", client=client) as monitor:
                monitor.concept(False, CONCEPT)
                monitor.data(True, DATA)
            out.append((time.perf_counter() - began) * 1000)
            offline.append(int(monitor.offline))
        # Runs are sent in the background: the clock stops when the server has them all.
        if not sender_for(client).flush(600):
            offline.append(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--settings", required=True, help="Client settings as JSON")
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=10, help="jobs per client")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # an offline run warns by design; counted below instead
    settings = json.loads(args.settings)
    latencies: list[float] = []
    offline: list[int] = []
    start = threading.Barrier(args.clients + 1)
    threads = [threading.Thread(target=client_loop, args=(settings, args.experiment, args.jobs, start, latencies, offline)) for _ in range(args.clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    left = spool_for(Client(**settings).settings).pending()  # runs not delivered (a fresh Client: no sender)
    print(json.dumps({"jobs": len(latencies), "seconds": seconds, "latencies_ms": latencies, "failed": sum(offline) + left}))


if __name__ == "__main__":
    main()
