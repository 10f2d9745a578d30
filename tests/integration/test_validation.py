"""Bad input: INVALID_ARGUMENT naming the field to fix, and nothing stored changes."""

import pytest
from bson import ObjectId
from google.protobuf import field_mask_pb2, struct_pb2

from drift_monitoring.v1 import drift_pb2, experiment_pb2
from tests.integration.helpers import Code, expect_error


def _nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"n": value}
    return value


def _drift_with_parameters(parameters: dict) -> drift_pb2.Drift:
    drift = drift_pb2.Drift(model="m")
    drift.concept_drift.parameters.update(parameters)
    return drift


def _nan_parameters() -> drift_pb2.Drift:
    drift = drift_pb2.Drift(model="m")
    drift.concept_drift.parameters.fields["p"].CopyFrom(struct_pb2.Value(number_value=float("nan")))
    return drift


BAD_EXPERIMENTS = [
    (experiment_pb2.Experiment(name=""), "experiment.name"),
    (experiment_pb2.Experiment(name="x" * 129), "experiment.name"),
    (experiment_pb2.Experiment(name="tab\x01name"), "experiment.name"),
    (experiment_pb2.Experiment(name="ok", description="d" * 4097), "experiment.description"),
    (experiment_pb2.Experiment(name="ok", grants=[experiment_pb2.Grant(entity="g", level=7)]), "experiment.grants[0].level"),
    (experiment_pb2.Experiment(name="ok", grants=[experiment_pb2.Grant(entity="", level=1)]), "experiment.grants[0].entity"),
]


@pytest.mark.parametrize(("experiment", "field"), BAD_EXPERIMENTS, ids=[f for _, f in BAD_EXPERIMENTS])
def test_bad_experiment_is_refused(people, db, experiment, field):
    before = db.experiments.count_documents({})
    error = expect_error(
        Code.INVALID_ARGUMENT,
        lambda: people["manager"].experiments.CreateExperiment(experiment_pb2.CreateExperimentRequest(experiment=experiment)),
        mentions=field,
    )
    assert error.details().startswith(field)
    assert db.experiments.count_documents({}) == before


BAD_DRIFTS = [
    (drift_pb2.Drift(model=""), "drift.model"),
    (drift_pb2.Drift(model="m" * 257), "drift.model"),
    (drift_pb2.Drift(model="m", status=99), "drift.status"),
    (drift_pb2.Drift(model="m", tags=[f"t{i}" for i in range(65)]), "drift.tags"),
    (drift_pb2.Drift(model="m", tags=[""]), "drift.tags[0]"),
    (drift_pb2.Drift(model="m", tags=["t" * 129]), "drift.tags[0]"),
    (drift_pb2.Drift(model="m", error_message="e" * 4097), "drift.error_message"),
    (_drift_with_parameters({"$where": 1}), "drift.concept_drift.parameters"),
    (_drift_with_parameters({"a.b": 1}), "drift.concept_drift.parameters"),
    (_drift_with_parameters({"big": "x" * 70_000}), "drift.concept_drift.parameters"),
    (_drift_with_parameters(_nested(17)), "drift.concept_drift.parameters"),
    (_nan_parameters(), "drift.concept_drift.parameters.p"),
    (drift_pb2.Drift(model="m", data_drift=drift_pb2.DriftResult(features=[drift_pb2.FeatureResult(feature="")])), "drift.data_drift.features[0].feature"),
    (drift_pb2.Drift(model="m", data_drift=drift_pb2.DriftResult(features=[drift_pb2.FeatureResult(feature="a", statistic=float("nan"))])),
     "drift.data_drift.features[0].statistic"),
    (drift_pb2.Drift(model="m", data_drift=drift_pb2.DriftResult(features=[drift_pb2.FeatureResult(feature="a", p_value=float("inf"))])),
     "drift.data_drift.features[0].p_value"),
    (_drift_with_parameters({"matrix": [[1, 2], [3, 4]]}), "drift.concept_drift.parameters.matrix"),
]


def test_batch_with_one_bad_feature_stores_nothing(people, scenario, db):
    before = (db.drifts.count_documents({}), db.events.count_documents({}))
    good = drift_pb2.CreateDriftRequest(drift=drift_pb2.Drift(model="fine"))
    bad = drift_pb2.CreateDriftRequest(
        drift=drift_pb2.Drift(model="m", data_drift=drift_pb2.DriftResult(features=[drift_pb2.FeatureResult(feature="a", threshold=float("inf"))]))
    )
    request = drift_pb2.BatchCreateDriftsRequest(experiment_id=scenario.private.id, requests=[good, good, bad])
    expect_error(Code.INVALID_ARGUMENT, lambda: people["editor"].drifts.BatchCreateDrifts(request), mentions="requests[2].drift.data_drift.features[0].threshold")
    assert (db.drifts.count_documents({}), db.events.count_documents({})) == before


@pytest.mark.parametrize(("drift", "field"), BAD_DRIFTS, ids=[f"{i}-{f}" for i, (_, f) in enumerate(BAD_DRIFTS)])
def test_bad_drift_is_refused(people, scenario, db, drift, field):
    before = db.drifts.count_documents({})
    request = drift_pb2.CreateDriftRequest(experiment_id=scenario.private.id, drift=drift)
    expect_error(Code.INVALID_ARGUMENT, lambda: people["editor"].drifts.CreateDrift(request), mentions=field)
    assert db.drifts.count_documents({}) == before


def test_nesting_at_the_limit_is_accepted(people, scenario):
    people["editor"].drifts.CreateDrift(
        drift_pb2.CreateDriftRequest(experiment_id=scenario.private.id, drift=_drift_with_parameters(_nested(16)))
    )


def test_bad_update_changes_nothing(people, scenario, db):
    stored = db.drifts.find_one({"_id": ObjectId(scenario.private_drift_id)})
    editor = people["editor"]
    for change, mask, field in [
        (drift_pb2.Drift(model="x"), ["model", "colour"], "update_mask"),
        (drift_pb2.Drift(status=0), ["status"], "drift.status"),
        (drift_pb2.Drift(model=""), ["model"], "drift.model"),
        (drift_pb2.Drift(start_time={"seconds": 253402300800 * 2}), ["start_time"], "drift.start_time"),
    ]:
        change.id, change.experiment_id = scenario.private_drift_id, scenario.private.id
        request = drift_pb2.UpdateDriftRequest(drift=change, update_mask=field_mask_pb2.FieldMask(paths=mask))
        expect_error(Code.INVALID_ARGUMENT, lambda: editor.drifts.UpdateDrift(request), mentions=field)
    assert db.drifts.find_one({"_id": ObjectId(scenario.private_drift_id)}) == stored


def test_bad_experiment_update_changes_nothing(people, scenario, db):
    stored = db.experiments.find_one({"_id": ObjectId(scenario.private.id)})
    manager = people["manager"]
    for change, mask, field in [
        (experiment_pb2.Experiment(name="new"), ["owner"], "update_mask"),
        (experiment_pb2.Experiment(name=""), ["name"], "experiment.name"),
    ]:
        change.id = scenario.private.id
        request = experiment_pb2.UpdateExperimentRequest(experiment=change, update_mask=field_mask_pb2.FieldMask(paths=mask))
        expect_error(Code.INVALID_ARGUMENT, lambda: manager.experiments.UpdateExperiment(request), mentions=field)
    assert db.experiments.find_one({"_id": ObjectId(scenario.private.id)}) == stored


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"page_size": -1}, "page_size"),
        ({"order_by": "colour"}, "order_by"),
        ({"order_by": "create_time sideways"}, "order_by"),
        ({"filter": "model ="}, "filter"),
        ({"page_token": "garbage"}, "page_token"),
    ],
)
def test_bad_list_requests(people, scenario, request_fields, field):
    expect_error(Code.INVALID_ARGUMENT, lambda: people["reader"].list_drifts(scenario.private.id, **request_fields), mentions=field)


def test_bad_ids(people):
    expect_error(
        Code.INVALID_ARGUMENT,
        lambda: people["reader"].experiments.GetExperiment(experiment_pb2.GetExperimentRequest(experiment_id="not-an-id")),
        mentions="experiment_id",
    )
    expect_error(Code.NOT_FOUND, lambda: people["reader"].experiments.GetExperiment(experiment_pb2.GetExperimentRequest(experiment_id=str(ObjectId()))))


def test_oversized_page_size_is_coerced(people, scenario):
    assert len(people["reader"].list_drifts(scenario.private.id, page_size=5000).drifts) >= 1


def test_batch_limits(people, scenario):
    too_many = [drift_pb2.CreateDriftRequest(drift=drift_pb2.Drift(model="m")) for _ in range(1001)]
    expect_error(
        Code.INVALID_ARGUMENT,
        lambda: people["editor"].drifts.BatchCreateDrifts(drift_pb2.BatchCreateDriftsRequest(experiment_id=scenario.private.id, requests=too_many)),
        mentions="requests",
    )
    other = drift_pb2.CreateDriftRequest(experiment_id=scenario.public.id, drift=drift_pb2.Drift(model="m"))
    expect_error(
        Code.INVALID_ARGUMENT,
        lambda: people["editor"].drifts.BatchCreateDrifts(drift_pb2.BatchCreateDriftsRequest(experiment_id=scenario.private.id, requests=[other])),
        mentions="requests[0].experiment_id",
    )


def test_update_may_not_push_a_drifts_parameters_over_the_limit(people, scenario, db):
    editor = people["editor"]
    drift = editor.create_drift(scenario.private.id, concept_drift=_drift_with_parameters({"big": "x" * 40_000}).concept_drift)
    stored = db.drifts.find_one({"_id": ObjectId(drift.id)})
    change = drift_pb2.Drift(id=drift.id, experiment_id=scenario.private.id)
    change.data_drift.parameters.update({"big": "y" * 40_000})
    request = drift_pb2.UpdateDriftRequest(drift=change, update_mask=field_mask_pb2.FieldMask(paths=["data_drift"]))
    expect_error(Code.INVALID_ARGUMENT, lambda: editor.drifts.UpdateDrift(request), mentions="limit")
    assert db.drifts.find_one({"_id": ObjectId(drift.id)}) == stored
