"""Client overhead: wall time DriftMonitor adds to a job (enter + concept + data + exit), one client,
with the server up (through Envoy) and with it down (a closed port: the spool path)."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from bench.common import free_port, latency
from stack import Stack
from bench.workers.dm_jobs import CONCEPT, DATA  # the same job as the ingest benchmark
from drift_monitoring import Client, DriftMonitor


def _jobs(count: int, experiment: str, settings: dict[str, Any]) -> list[float]:
    timings = []
    with Client(**settings) as client:
        for _ in range(count):
            began = time.perf_counter()
            with DriftMonitor(experiment, "bench-model", client=client) as monitor:
                monitor.concept(False, CONCEPT)
                monitor.data(True, DATA)
            timings.append((time.perf_counter() - began) * 1000)
    return timings


def run(stack: Stack, jobs: int) -> dict[str, Any]:
    settings = stack.settings(persona="editor")
    experiment = f"bench-overhead-{uuid.uuid4().hex[:6]}"
    with Client(**settings) as client:
        client.register()
        client.new_experiment(experiment)
    _jobs(5, experiment, settings)  # warm-up: connection, TLS session, JWKS
    up = _jobs(jobs, experiment, settings)
    logging.disable(logging.WARNING)  # every offline run warns by design
    try:
        down = _jobs(jobs, experiment, {**settings, "url": f"localhost:{free_port()}", "timeout": 1})
    finally:
        logging.disable(logging.NOTSET)
    result = {"jobs": jobs, "server_up": latency(up), "server_down": latency(down)}
    for key in ("server_up", "server_down"):
        print(f"overhead {key:<12} p50 {result[key]['p50_ms']:8.2f} ms  p99 {result[key]['p99_ms']:8.2f} ms", flush=True)
    return result
