"""Graceful shutdown of a real server process under load: SIGTERM while many writes are in flight.

Contract: health turns NOT_SERVING, watch streams end with UNAVAILABLE (clients resume elsewhere),
in-flight calls finish within DRIFT_MONITOR_GRACE_SECONDS, the process exits 0. Every call either
succeeded (and is stored, with its event) or failed with UNAVAILABLE and left nothing half-applied,
so a client retrying with the same request_id lands each drift exactly once.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter

import pytest
from bson import ObjectId
from grpc_health.v1 import health_pb2, health_pb2_grpc

from drift_monitoring.v1 import drift_pb2
from tests.integration.helpers import MANAGER, Code, RpcError, direct_api

pytestmark = pytest.mark.asyncio(loop_scope="session")

GRACE = 5.0
WORKERS = 16
BATCHES = 4
BATCH_SIZE = 250


async def test_sigterm_under_load_drains_and_exits_zero(start_server, direct_to, issuer, scratch_database):
    # A server and database of its own: the process is stopped here, and the test writes thousands of drifts.
    uri, db = scratch_database
    process = await asyncio.to_thread(start_server, MONGODB_URI=uri, DRIFT_MONITOR_GRACE_SECONDS=str(GRACE))
    channel = direct_to(process)
    api = await direct_api(channel, MANAGER, issuer.url).register()
    experiment_id = (await api.create_experiment()).id

    health = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""), timeout=60)
    assert (await asyncio.wait_for(health.read(), 5)).status == health_pb2.HealthCheckResponse.SERVING
    watcher = api.watch(experiment_id)
    await watcher.ready()

    singles: dict[str, str] = {}  # request_id -> "OK" or the status code name
    batches: dict[str, str] = {}  # request_id prefix of a batch -> outcome

    async def keep_creating(worker: int) -> None:
        for index in range(100_000):
            request_id = f"w{worker}-{index}"
            try:
                await api.create_drift(experiment_id, request_id=request_id, model=f"worker-{worker}")
                singles[request_id] = "OK"
            except RpcError as error:
                singles[request_id] = error.code().name
                return

    async def one_batch(number: int) -> None:
        drift = drift_pb2.Drift(model=f"batch-{number}")
        drift.data_drift.parameters.update({"p_value": 0.01, "window": {"size": 1000}})
        try:
            await api.batch_create(experiment_id, [drift] * BATCH_SIZE, prefix=f"b{number}-")
            batches[f"b{number}-"] = "OK"
        except RpcError as error:
            batches[f"b{number}-"] = error.code().name

    workers = [asyncio.create_task(keep_creating(n)) for n in range(WORKERS)]
    deadline = time.monotonic() + 20
    while Counter(singles.values())["OK"] < 100 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert Counter(singles.values())["OK"] >= 100, f"the server never got going: {Counter(singles.values())}"
    big = [asyncio.create_task(one_batch(n)) for n in range(BATCHES)]
    await asyncio.sleep(0.05)  # let the batches reach the server

    process.process.send_signal(signal.SIGTERM)
    signalled = time.monotonic()

    # While draining, health says NOT_SERVING (so Envoy routes elsewhere) ...
    assert (await asyncio.wait_for(health.read(), 5)).status == health_pb2.HealthCheckResponse.NOT_SERVING
    health.cancel()
    # ... watch streams end with UNAVAILABLE, to be resumed on another process ...
    ended = await watcher.error(timeout=GRACE + 5)
    assert ended.code() == Code.UNAVAILABLE, ended
    # ... and the process exits 0 within the grace period.
    exit_code = await asyncio.to_thread(process.process.wait, GRACE + 10)
    elapsed = time.monotonic() - signalled
    await asyncio.wait_for(asyncio.gather(*workers, *big), 30)

    assert exit_code == 0, process.log.read_text()[-3000:]
    assert elapsed < GRACE + 2, f"exit took {elapsed:.1f} s with a grace of {GRACE} s"

    stored = {d["request_id"]: d["_id"] for d in db.drifts.find({"experiment": ObjectId(experiment_id)}, {"request_id": 1})}
    odd = {rid: (outcome, "stored" if rid in stored else "not stored") for rid, outcome in {**singles, **batches}.items() if outcome not in ("OK", "UNAVAILABLE")}
    assert odd == {}, f"calls caught by the shutdown must fail with UNAVAILABLE; outcomes {Counter(singles.values()) + Counter(batches.values())}"
    assert len(singles) - Counter(singles.values())["OK"] == WORKERS, "every worker ends on exactly one refused call"

    sent = set(singles) | {f"{prefix}{i}" for prefix in batches for i in range(BATCH_SIZE)}
    assert {rid for rid, outcome in singles.items() if outcome == "OK"} <= set(stored), "an acknowledged write was lost"
    assert set(stored) <= sent, "something was stored that no client sent"
    for prefix, outcome in batches.items():
        landed = sum(rid.startswith(prefix) for rid in stored)
        assert landed == BATCH_SIZE if outcome == "OK" else landed in (0, BATCH_SIZE), f"batch {prefix} ({outcome}): {landed} stored"

    # Nothing half-applied: every stored drift has exactly one CREATED event (what watchers replay).
    created = Counter(e["drift"]["_id"] for e in db.events.find({"experiment": ObjectId(experiment_id), "type": "CREATED"}, {"drift._id": 1}))
    assert {drift_id: created[drift_id] for drift_id in stored.values() if created[drift_id] != 1} == {}
    assert set(created) == set(stored.values())

    # A client retrying its refused calls on a live server lands each exactly once.
    manager = direct_api(direct_to(await asyncio.to_thread(start_server, MONGODB_URI=uri)), MANAGER, issuer.url)
    for request_id, outcome in singles.items():
        if outcome != "OK":
            await manager.create_drift(experiment_id, request_id=request_id, model="retried")
    for prefix, outcome in batches.items():
        if outcome != "OK":
            await manager.batch_create(experiment_id, [drift_pb2.Drift(model="retried")] * BATCH_SIZE, prefix=prefix)
    final = Counter(d["request_id"] for d in db.drifts.find({"experiment": ObjectId(experiment_id)}, {"request_id": 1}))
    assert set(final) == sent and set(final.values()) == {1}
