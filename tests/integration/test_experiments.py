"""ExperimentService CRUD against a real server and database."""

from google.protobuf import field_mask_pb2

from drift_monitoring.v1 import experiment_pb2
from tests.integration.conftest import EDIT, MANAGE, READ
from tests.integration.helpers import Code, expect_error, unique


def test_create_get_and_list(people):
    manager = people["manager"]
    name = unique("churn")
    created = manager.create_experiment(name, description="weekly churn", grants=[experiment_pb2.Grant(entity="g", level=READ)])
    assert created.id and created.name == name and created.owner == manager.id
    assert created.caller_access == MANAGE and created.create_time.seconds > 0
    fetched = manager.experiments.GetExperiment(experiment_pb2.GetExperimentRequest(experiment_id=created.id))
    assert fetched == created
    listed = manager.experiments.ListExperiments(experiment_pb2.ListExperimentsRequest(filter=f'name = "{name}"'))
    assert [e.id for e in listed.experiments] == [created.id]


def test_name_is_unique(people):
    name = unique("dup")
    people["manager"].create_experiment(name)
    expect_error(Code.ALREADY_EXISTS, lambda: people["editor"].create_experiment(name), mentions="experiment.name")


def test_update_with_mask_changes_only_masked_fields(people):
    manager = people["manager"]
    created = manager.create_experiment(description="before")
    change = experiment_pb2.Experiment(id=created.id, name="ignored", description="after", public=True)
    updated = manager.experiments.UpdateExperiment(
        experiment_pb2.UpdateExperimentRequest(experiment=change, update_mask=field_mask_pb2.FieldMask(paths=["description"]))
    )
    assert (updated.name, updated.description, updated.public) == (created.name, "after", False)
    assert updated.update_time.ToDatetime() > created.update_time.ToDatetime() or updated.update_time == created.update_time


def test_update_without_mask_uses_populated_fields(people):
    manager = people["manager"]
    created = manager.create_experiment(description="keep me")
    new_name = unique("renamed")
    updated = manager.experiments.UpdateExperiment(
        experiment_pb2.UpdateExperimentRequest(experiment=experiment_pb2.Experiment(id=created.id, name=new_name, public=True))
    )
    assert (updated.name, updated.description, updated.public) == (new_name, "keep me", True)


def test_rename_onto_taken_name_is_refused(people):
    manager = people["manager"]
    taken = manager.create_experiment()
    other = manager.create_experiment()
    expect_error(
        Code.ALREADY_EXISTS,
        lambda: manager.experiments.UpdateExperiment(
            experiment_pb2.UpdateExperimentRequest(experiment=experiment_pb2.Experiment(id=other.id, name=taken.name))
        ),
    )
    assert manager.experiments.GetExperiment(experiment_pb2.GetExperimentRequest(experiment_id=other.id)).name == other.name


def test_grants_merge_to_highest_level_per_entity(people):
    grants = [experiment_pb2.Grant(entity="g", level=READ), experiment_pb2.Grant(entity="g", level=EDIT)]
    created = people["manager"].create_experiment(grants=grants)
    assert [(g.entity, g.level) for g in created.grants] == [("g", EDIT)]


def test_delete_cascades_to_drifts_and_events(people, db):
    manager = people["manager"]
    created = manager.create_experiment()
    for index in range(3):
        manager.create_drift(created.id, request_id=f"r{index}")
    assert db.drifts.count_documents({"experiment": _oid(created.id)}) == 3
    manager.experiments.DeleteExperiment(experiment_pb2.DeleteExperimentRequest(experiment_id=created.id))
    assert db.experiments.count_documents({"_id": _oid(created.id)}) == 0
    assert db.drifts.count_documents({"experiment": _oid(created.id)}) == 0
    # Only the marker that ends watch streams remains; the drift snapshots are gone with the data.
    assert [e["type"] for e in db.events.find({"experiment": _oid(created.id)})] == ["EXPERIMENT_DELETED"]
    expect_error(Code.NOT_FOUND, lambda: manager.experiments.GetExperiment(experiment_pb2.GetExperimentRequest(experiment_id=created.id)))


def _oid(value):
    from bson import ObjectId

    return ObjectId(value)
