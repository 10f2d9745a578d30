"""DriftService CRUD, idempotency and batches against a real server and database."""

from bson import ObjectId
from google.protobuf import field_mask_pb2

from drift_monitoring.v1 import drift_pb2
from tests.integration.helpers import Code, expect_error

RUNNING, COMPLETED, FAILED = drift_pb2.DRIFT_STATUS_RUNNING, drift_pb2.DRIFT_STATUS_COMPLETED, drift_pb2.DRIFT_STATUS_FAILED


def _result() -> drift_pb2.DriftResult:
    result = drift_pb2.DriftResult(detected=True)
    result.parameters.update({"test": "ks", "threshold": 0.05, "window": {"size": 1000, "features": ["a", "b"]}})
    result.features.add(feature="income", test="ks", statistic=0.31, p_value=0.001, threshold=0.05, detected=True)
    result.features.add(feature="age", test="wasserstein", statistic=0.02, detected=False)
    return result


def test_create_defaults_and_round_trip(people, scenario):
    editor = people["editor"]
    drift = editor.create_drift(scenario.private.id, model="xgb", tags=["a", "b", "a"], data_drift=_result())
    assert drift.status == RUNNING and drift.experiment_id == scenario.private.id and drift.creator == editor.id
    assert list(drift.tags) == ["a", "b"]
    assert drift.start_time == drift.create_time and not drift.HasField("end_time")
    stored = editor.drifts.GetDrift(drift_pb2.GetDriftRequest(experiment_id=scenario.private.id, drift_id=drift.id))
    assert stored == drift
    assert stored.data_drift.parameters["window"]["features"] == ["a", "b"]
    assert stored.data_drift.features[0].p_value == 0.001
    assert not stored.data_drift.features[1].HasField("p_value")
    assert not stored.HasField("concept_drift")


def test_same_request_id_returns_first_drift(people, scenario, db):
    editor = people["editor"]
    first = editor.create_drift(scenario.private.id, request_id="job-42", model="first")
    again = editor.create_drift(scenario.private.id, request_id="job-42", model="second")
    assert again == first
    assert db.drifts.count_documents({"experiment": ObjectId(scenario.private.id), "request_id": "job-42"}) == 1


def test_update_to_completed_sets_end_time(people, scenario):
    editor = people["editor"]
    drift = editor.create_drift(scenario.private.id)
    change = drift_pb2.Drift(id=drift.id, experiment_id=drift.experiment_id, status=COMPLETED, concept_drift=_result())
    updated = editor.drifts.UpdateDrift(drift_pb2.UpdateDriftRequest(drift=change))
    assert updated.status == COMPLETED and updated.HasField("end_time") and updated.concept_drift.detected
    assert updated.model == drift.model


def test_update_failed_with_mask(people, scenario):
    editor = people["editor"]
    drift = editor.create_drift(scenario.private.id, tags=["keep"])
    change = drift_pb2.Drift(id=drift.id, experiment_id=drift.experiment_id, status=FAILED, error_message="boom", tags=[])
    mask = field_mask_pb2.FieldMask(paths=["status", "error_message"])
    updated = editor.drifts.UpdateDrift(drift_pb2.UpdateDriftRequest(drift=change, update_mask=mask))
    assert (updated.status, updated.error_message, list(updated.tags)) == (FAILED, "boom", ["keep"])


def test_update_unknown_drift_is_not_found(people, scenario):
    change = drift_pb2.Drift(id=str(ObjectId()), experiment_id=scenario.private.id, model="x")
    expect_error(Code.NOT_FOUND, lambda: people["editor"].drifts.UpdateDrift(drift_pb2.UpdateDriftRequest(drift=change)))


def test_delete_drift(people, scenario, db):
    editor = people["editor"]
    drift = editor.create_drift(scenario.private.id)
    editor.drifts.DeleteDrift(drift_pb2.DeleteDriftRequest(experiment_id=scenario.private.id, drift_id=drift.id))
    assert db.drifts.count_documents({"_id": ObjectId(drift.id)}) == 0
    expect_error(Code.NOT_FOUND, lambda: editor.drifts.DeleteDrift(drift_pb2.DeleteDriftRequest(experiment_id=scenario.private.id, drift_id=drift.id)))


def test_drift_of_another_experiment_is_not_found(people, scenario):
    expect_error(
        Code.NOT_FOUND,
        lambda: people["manager"].drifts.GetDrift(drift_pb2.GetDriftRequest(experiment_id=scenario.public.id, drift_id=scenario.private_drift_id)),
    )


def _batch(experiment_id: str, *requests: drift_pb2.CreateDriftRequest) -> drift_pb2.BatchCreateDriftsRequest:
    return drift_pb2.BatchCreateDriftsRequest(experiment_id=experiment_id, requests=requests)


def test_batch_create_is_idempotent_per_request(people, scenario, db):
    editor = people["editor"]
    requests = [drift_pb2.CreateDriftRequest(drift=drift_pb2.Drift(model=f"m{i}"), request_id=f"batch-{i}") for i in range(5)]
    first = editor.drifts.BatchCreateDrifts(_batch(scenario.private.id, *requests))
    assert [d.model for d in first.drifts] == [f"m{i}" for i in range(5)]
    extra = drift_pb2.CreateDriftRequest(drift=drift_pb2.Drift(model="m5"), request_id="batch-5")
    second = editor.drifts.BatchCreateDrifts(_batch(scenario.private.id, *requests, extra))
    assert [d.id for d in second.drifts[:5]] == [d.id for d in first.drifts]
    assert db.drifts.count_documents({"experiment": ObjectId(scenario.private.id), "request_id": {"$regex": "^batch-"}}) == 6


def test_batch_validation_is_all_or_nothing(people, scenario, db):
    before = db.drifts.count_documents({"experiment": ObjectId(scenario.private.id)})
    good = drift_pb2.CreateDriftRequest(drift=drift_pb2.Drift(model="fine"))
    bad = drift_pb2.CreateDriftRequest(drift=drift_pb2.Drift(model=""))
    expect_error(
        Code.INVALID_ARGUMENT, lambda: people["editor"].drifts.BatchCreateDrifts(_batch(scenario.private.id, good, bad)), mentions="requests[1].drift.model"
    )
    assert db.drifts.count_documents({"experiment": ObjectId(scenario.private.id)}) == before
