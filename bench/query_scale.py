"""Query at scale: one experiment grown step by step; at each size the first page and a deep page
(the 10th, by its page token) of a filtered, sorted ListDrifts through Envoy. Also bulk ingest:
BatchCreateDrifts of 1000 against the same number of single CreateDrift calls."""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

from bench.common import latency
from stack import Stack
from drift_monitoring import Client, DriftMonitorError
from drift_monitoring.v1 import drift_pb2

FILTER = "status = COMPLETED AND concept_drift.detected = true"
BATCH = 1000


def _drift(rng: random.Random, index: int) -> drift_pb2.Drift:
    drift = drift_pb2.Drift(model=f"model-{index % 5}", status=drift_pb2.DRIFT_STATUS_COMPLETED, tags=["bench"])
    drift.concept_drift.detected = rng.random() < 0.3
    drift.concept_drift.parameters.update({f"concept_param_{i}": rng.random() for i in range(20)})
    drift.data_drift.detected = rng.random() < 0.3
    drift.data_drift.parameters.update({f"data_param_{i}": rng.random() for i in range(20)})
    return drift


def _batch(client: Client, experiment_id: str, rng: random.Random, start: int, count: int) -> None:
    requests = [drift_pb2.CreateDriftRequest(drift=_drift(rng, start + i), request_id=uuid.uuid4().hex) for i in range(count)]
    client.call(client.drifts.BatchCreateDrifts, drift_pb2.BatchCreateDriftsRequest(experiment_id=experiment_id, requests=requests), budget=600)


def _page(client: Client, experiment_id: str, token: str = "") -> drift_pb2.ListDriftsResponse:
    request = drift_pb2.ListDriftsRequest(experiment_id=experiment_id, filter=FILTER, order_by="create_time desc", page_size=100, page_token=token)
    return client.call(client.drifts.ListDrifts, request, budget=600)


def _timed(function: Any, repeats: int) -> list[float]:
    timings = []
    for _ in range(repeats):
        began = time.perf_counter()
        function()
        timings.append((time.perf_counter() - began) * 1000)
    return timings


def bulk(stack: Stack, count: int) -> dict[str, Any]:
    rng = random.Random(7)
    with Client(**stack.settings(timeout=600)) as client:
        client.register()
        experiment_id = client.new_experiment(f"bench-bulk-{uuid.uuid4().hex[:6]}").id
        began = time.perf_counter()
        for i in range(count):
            client.create_drift(experiment_id, _drift(rng, i), uuid.uuid4().hex)
        single = time.perf_counter() - began
        began = time.perf_counter()
        for start in range(0, count, BATCH):
            _batch(client, experiment_id, rng, start, min(BATCH, count - start))
        batched = time.perf_counter() - began
    result = {"drifts": count, "single_per_s": round(count / single, 1), "batch_per_s": round(count / batched, 1)}
    result["ratio"] = round(result["batch_per_s"] / result["single_per_s"], 1)
    print(f"bulk {count} drifts: single calls {result['single_per_s']}/s, BatchCreateDrifts {result['batch_per_s']}/s ({result['ratio']}x)", flush=True)
    return result


def run(stack: Stack, sizes: list[int], repeats: int) -> dict[str, Any]:
    rng = random.Random(11)
    steps = []
    with Client(**stack.settings(timeout=600)) as client:
        client.register()
        experiment_id = client.new_experiment(f"bench-query-{uuid.uuid4().hex[:6]}").id
        stored = 0
        for size in sizes:
            began = time.perf_counter()
            while stored < size:
                count = min(BATCH, size - stored)
                _batch(client, experiment_id, rng, stored, count)
                stored += count
            load_s = time.perf_counter() - began
            try:
                first = _timed(lambda: _page(client, experiment_id), repeats)
                token, page = "", 1
                for _ in range(9):  # walk once to the 10th page (or the last one); its token is then timed on its own
                    following = _page(client, experiment_id, token).next_page_token
                    if not following:
                        break
                    token, page = following, page + 1
                deep = _timed(lambda: _page(client, experiment_id, token), repeats) if token else []
            except DriftMonitorError as exc:  # e.g. past Envoy's 60 s route timeout: a result, and the end
                steps.append({"drifts": size, "load_s": round(load_s, 1), "error": str(exc)})
                print(f"query {size:>8} drifts: {exc}", flush=True)
                break
            step = {"drifts": size, "load_s": round(load_s, 1), "first_page": latency(first), "deep_page": page, "page_10": latency(deep)}
            steps.append(step)
            print(f"query {size:>8} drifts: first page p50 {step['first_page']['p50_ms']} p99 {step['first_page']['p99_ms']} ms; "
                  f"page {page} p50 {step['page_10']['p50_ms']} ms (loaded in {step['load_s']} s)", flush=True)
    return {"filter": FILTER, "order_by": "create_time desc", "page_size": 100, "steps": steps}
