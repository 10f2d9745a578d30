"""Retention through the session's servers, so the sweep's queries are in the query log that
test_query_plans checks against the declared indexes (the thorough tests: tests/reliability/test_retention.py)."""

from __future__ import annotations

import asyncio
import time

import pytest

from drift_monitoring.v1 import drift_pb2
from tests.integration.helpers import COMPLETED, Code, expect_error

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_sweeping_server_applies_both_limits(people, start_server):
    manager = people["manager"]
    experiment = await manager.create_experiment()
    await manager.batch_create(experiment.id, [drift_pb2.Drift(model="m", status=COMPLETED) for _ in range(130)])
    await expect_error(Code.INVALID_ARGUMENT, manager.update_experiment(experiment.id, ["retention_runs"], retention_runs=-1))
    await manager.update_experiment(experiment.id, ["retention_runs", "retention_days"], retention_runs=20, retention_days=365)
    start_server(DRIFT_MONITOR_SWEEP_SECONDS="0.2")  # a second process on the session's database sweeps often
    deadline = time.monotonic() + 60
    while len((await manager.list_drifts(experiment.id, page_size=200)).drifts) > 20:
        assert time.monotonic() < deadline, "retention was not applied"
        await asyncio.sleep(0.2)
    assert (await manager.get_experiment(experiment.id)).retention_runs == 20
    await manager.delete_experiment(experiment.id)
