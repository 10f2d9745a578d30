"""DriftService CRUD, idempotent request_id, batches and end_time, against a real server and database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from bson import ObjectId
from google.protobuf import timestamp_pb2

from drift_monitoring.v1 import drift_pb2
from tests.integration.helpers import COMPLETED, FAILED, RUNNING, Code, expect_error

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _result(detected: bool = True) -> drift_pb2.DriftResult:
    result = drift_pb2.DriftResult(detected=detected)
    result.parameters.update({"test": "ks", "threshold": 0.05, "window": {"size": 1000, "features": ["income", "age"]}, "ok": None})
    result.features.add(feature="income", test="ks", statistic=0.31, p_value=0.001, threshold=0.05, detected=True)
    result.features.add(feature="age", test="wasserstein", statistic=0.02, detected=False)
    return result


def _timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


async def test_create_applies_defaults_and_round_trips(people, scenario):
    editor = people["editor"]
    drift = await editor.create_drift(scenario.private.id, model="xgb", tags=["a", "b", "a"], data_drift=_result())
    assert drift.id and drift.experiment_id == scenario.private.id and drift.creator == editor.id
    assert drift.status == RUNNING  # UNSPECIFIED at creation means RUNNING
    assert list(drift.tags) == ["a", "b"]  # duplicates dropped, order kept
    assert drift.start_time == drift.create_time and drift.update_time == drift.create_time
    assert not drift.HasField("end_time") and not drift.HasField("concept_drift") and not drift.HasField("result")
    assert drift.data_drift == _result()
    stored = await editor.get_drift(scenario.private.id, drift.id)
    assert stored == drift
    assert stored.data_drift.features[0].p_value == 0.001 and not stored.data_drift.features[1].HasField("p_value")


async def test_create_keeps_given_times(people, scenario):
    start = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    drift = await people["editor"].create_drift(scenario.private.id, start_time=_timestamp(start))
    assert drift.start_time.ToDatetime(tzinfo=UTC) == start and drift.create_time != drift.start_time


@pytest.mark.parametrize("status", [COMPLETED, FAILED])
async def test_created_finished_gets_an_end_time(people, scenario, status):
    drift = await people["editor"].create_drift(scenario.private.id, status=status)
    assert drift.status == status and drift.HasField("end_time")
    assert drift.end_time.ToDatetime() >= drift.start_time.ToDatetime()


async def test_same_request_id_returns_the_first_drift(people, scenario, db):
    editor = people["editor"]
    first = await editor.create_drift(scenario.private.id, request_id="job-42", model="first")
    again = await editor.create_drift(scenario.private.id, request_id="job-42", model="second")
    assert again == first
    assert db.drifts.count_documents({"experiment": ObjectId(scenario.private.id), "request_id": "job-42"}) == 1
    assert (await editor.list_drifts(scenario.private.id, filter="model = second")).drifts == []


async def test_concurrent_retries_store_one_drift(people, scenario, db):
    """Ten copies of one request racing each other (a client retrying on timeouts): one drift."""
    editor = people["editor"]
    results = await asyncio.gather(*(editor.create_drift(scenario.private.id, request_id="racing", model="m") for _ in range(10)))
    assert len({d.id for d in results}) == 1
    assert db.drifts.count_documents({"experiment": ObjectId(scenario.private.id), "request_id": "racing"}) == 1


async def test_get_unknown_drift_is_not_found(people, scenario):
    await expect_error(Code.NOT_FOUND, people["editor"].get_drift(scenario.private.id, str(ObjectId())))


async def test_drift_of_another_experiment_is_not_found(people, scenario):
    manager = people["manager"]
    await expect_error(Code.NOT_FOUND, manager.get_drift(scenario.public.id, scenario.private_drift_id))
    await expect_error(Code.NOT_FOUND, manager.update_drift(scenario.public.id, scenario.private_drift_id, ["model"], model="x"))
    await expect_error(Code.NOT_FOUND, manager.delete_drift(scenario.public.id, scenario.private_drift_id))
    assert (await manager.get_drift(scenario.private.id, scenario.private_drift_id)).model == scenario.private_drifts[0].model


async def test_list_returns_the_experiments_drifts_newest_first(people, scenario):
    listed = (await people["reader"].list_drifts(scenario.private.id)).drifts
    assert [d.id for d in listed] == [d.id for d in reversed(scenario.private_drifts)]


async def test_update_to_completed_sets_end_time(people, scenario):
    editor = people["editor"]
    drift = await editor.create_drift(scenario.private.id)
    updated = await editor.update_drift(scenario.private.id, drift.id, status=COMPLETED, concept_drift=_result())
    assert updated.status == COMPLETED and updated.HasField("end_time") and updated.concept_drift.detected
    assert updated.model == drift.model and updated.creator == drift.creator and updated.create_time == drift.create_time
    assert updated.update_time.ToDatetime() >= drift.update_time.ToDatetime()
    assert await editor.get_drift(scenario.private.id, drift.id) == updated


async def test_update_to_failed_keeps_a_given_end_time(people, scenario):
    editor = people["editor"]
    drift = await editor.create_drift(scenario.private.id)
    end = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)
    updated = await editor.update_drift(
        scenario.private.id, drift.id, ["status", "error_message", "end_time"], status=FAILED, error_message="oom", end_time=_timestamp(end)
    )
    assert (updated.status, updated.error_message, updated.end_time.ToDatetime(tzinfo=UTC)) == (FAILED, "oom", end)


async def test_update_with_mask_touches_only_masked_fields(people, scenario):
    editor = people["editor"]
    drift = await editor.create_drift(scenario.private.id, tags=["keep"], model="keep")
    updated = await editor.update_drift(scenario.private.id, drift.id, ["status", "error_message"], status=FAILED, error_message="boom", tags=[], model="ignored")
    assert (updated.status, updated.error_message, list(updated.tags), updated.model) == (FAILED, "boom", ["keep"], "keep")
    assert updated.HasField("end_time")


async def test_masked_result_can_be_cleared(people, scenario):
    editor = people["editor"]
    drift = await editor.create_drift(scenario.private.id, concept_drift=_result(), tags=["t"])
    updated = await editor.update_drift(scenario.private.id, drift.id, ["concept_drift", "tags"])
    assert not updated.HasField("concept_drift") and list(updated.tags) == []


async def test_update_unknown_drift_is_not_found(people, scenario):
    await expect_error(Code.NOT_FOUND, people["editor"].update_drift(scenario.private.id, str(ObjectId()), model="x"))


async def test_delete_drift(people, scenario, db):
    editor = people["editor"]
    drift = await editor.create_drift(scenario.private.id)
    await editor.delete_drift(scenario.private.id, drift.id)
    assert db.drifts.count_documents({"_id": ObjectId(drift.id)}) == 0
    await expect_error(Code.NOT_FOUND, editor.get_drift(scenario.private.id, drift.id))
    await expect_error(Code.NOT_FOUND, editor.delete_drift(scenario.private.id, drift.id))


async def test_batch_create_returns_drifts_in_request_order(people, scenario, db):
    editor = people["editor"]
    drifts = [drift_pb2.Drift(model=f"m{i}", status=COMPLETED if i % 2 else RUNNING) for i in range(7)]
    created = await editor.batch_create(scenario.private.id, drifts, prefix="order-")
    assert [d.model for d in created] == [f"m{i}" for i in range(7)]
    assert [d.HasField("end_time") for d in created] == [bool(i % 2) for i in range(7)]
    for drift in created:
        assert await editor.get_drift(scenario.private.id, drift.id) == drift
    assert db.drifts.count_documents({"experiment": ObjectId(scenario.private.id), "request_id": {"$regex": "^order-"}}) == 7


async def test_batch_create_is_idempotent_per_request(people, scenario, db):
    editor = people["editor"]
    drifts = [drift_pb2.Drift(model=f"m{i}") for i in range(5)]
    first = await editor.batch_create(scenario.private.id, drifts, prefix="batch-")
    again = await editor.batch_create(scenario.private.id, [*drifts, drift_pb2.Drift(model="m5")], prefix="batch-")
    assert [d.id for d in again[:5]] == [d.id for d in first] and again[5].id not in {d.id for d in first}
    assert db.drifts.count_documents({"experiment": ObjectId(scenario.private.id), "request_id": {"$regex": "^batch-"}}) == 6
    single = await editor.create_drift(scenario.private.id, request_id="batch-2")  # the same key through CreateDrift
    assert single.id == first[2].id


async def test_batch_validation_is_all_or_nothing(people, scenario, db):
    before = db.drifts.count_documents({"experiment": ObjectId(scenario.private.id)})
    good = drift_pb2.Drift(model="fine")
    bad = drift_pb2.Drift(model="")
    await expect_error(
        Code.INVALID_ARGUMENT, people["editor"].batch_create(scenario.private.id, [good, good, bad, good]), mentions="requests[2].drift.model"
    )
    assert db.drifts.count_documents({"experiment": ObjectId(scenario.private.id)}) == before


async def test_batch_of_the_maximum_size(people, db):
    manager = people["manager"]
    experiment = await manager.create_experiment()
    created = await manager.batch_create(experiment.id, [drift_pb2.Drift(model="bulk")] * 1000, prefix="max-")
    assert len(created) == 1000 and len({d.id for d in created}) == 1000
    assert db.drifts.count_documents({"experiment": ObjectId(experiment.id)}) == 1000
    await manager.delete_experiment(experiment.id)  # keep the shared database small
