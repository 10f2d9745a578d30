"""ImportService: admin-only, idempotent by legacy id, all-or-nothing per call, fields named in errors."""

from __future__ import annotations

import pytest
from bson import ObjectId

from drift_monitoring.v1 import drift_pb2, imports_pb2
from tests.integration.helpers import Code, bad_request_fields, expect_error, import_drifts, import_experiment, import_users, unique

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _refused(call, field: str) -> None:
    error = await expect_error(Code.INVALID_ARGUMENT, call, mentions=field)
    assert bad_request_fields(error) == [field]


async def test_bad_input_names_the_field_and_stores_nothing(people, db):
    admin = people["admin"]
    experiment = (await admin.imports.ImportExperiment(import_experiment())).experiment
    before = (db.users.count_documents({}), db.experiments.count_documents({}), db.drifts.count_documents({"experiment": ObjectId(experiment.id)}))

    no_time = import_experiment()
    no_time.ClearField("create_time")
    await _refused(admin.imports.ImportExperiment(no_time), "create_time")
    await _refused(admin.imports.ImportExperiment(imports_pb2.ImportExperimentRequest(
        legacy_id="x", experiment=import_experiment().experiment, create_time=import_experiment().create_time, owner="o" * 600)), "owner")
    await _refused(admin.imports.ImportExperiment(imports_pb2.ImportExperimentRequest(create_time=import_experiment().create_time)), "legacy_id")

    batch = import_drifts(experiment.id)
    batch.drifts.add(legacy_id="", drift=drift_pb2.Drift(model="m"), create_time=batch.drifts[0].create_time)
    await _refused(admin.imports.ImportDrifts(batch), "drifts[1].legacy_id")  # the valid drifts[0] is not stored either
    bad_model = import_drifts(experiment.id)
    bad_model.drifts[0].drift.model = ""
    await _refused(admin.imports.ImportDrifts(bad_model), "drifts[0].drift.model")
    await _refused(admin.imports.ImportDrifts(import_drifts("not-an-id")), "experiment_id")
    many = imports_pb2.ImportUsersRequest(users=list(import_users().users) * 1001)
    await _refused(admin.imports.ImportUsers(many), "users")
    no_subject = import_users()
    no_subject.users[0].subject = ""
    await _refused(admin.imports.ImportUsers(no_subject), "users[0].subject")
    await expect_error(Code.NOT_FOUND, admin.imports.ImportDrifts(import_drifts(str(ObjectId()))))

    after = (db.users.count_documents({}), db.experiments.count_documents({}), db.drifts.count_documents({"experiment": ObjectId(experiment.id)}))
    assert after == before


async def test_imports_keep_times_and_creators_and_repeat_as_no_ops(people, db):
    admin, manager = people["admin"], people["manager"]
    request = import_experiment()
    request.owner = manager.id
    request.experiment.public = True
    first = await admin.imports.ImportExperiment(request)
    again = await admin.imports.ImportExperiment(request)
    assert first.created and not again.created and again.experiment == first.experiment
    assert first.experiment.owner == manager.id and first.experiment.create_time == request.create_time == first.experiment.update_time

    drifts = import_drifts(first.experiment.id)
    drifts.drifts[0].creator = "someone-else"
    drifts.drifts.add(legacy_id=unique("legacy"), drift=drift_pb2.Drift(model="two", status=drift_pb2.DRIFT_STATUS_COMPLETED),
                      create_time=drifts.drifts[0].create_time)
    dry = await admin.imports.ImportDrifts(imports_pb2.ImportDriftsRequest(experiment_id=first.experiment.id, drifts=drifts.drifts, validate_only=True))
    assert dry.created_count == 2 and db.drifts.count_documents({"experiment": ObjectId(first.experiment.id)}) == 0
    stored = await admin.imports.ImportDrifts(drifts)
    assert (stored.created_count, stored.existing_count, list(stored.drift_ids)) == (2, 0, list(dry.drift_ids))
    repeated = await admin.imports.ImportDrifts(drifts)
    assert (repeated.created_count, repeated.existing_count) == (0, 2)

    listed = {d.model: d for d in (await manager.list_drifts(first.experiment.id)).drifts}
    assert listed["imported"].creator == "someone-else" and listed["two"].creator == manager.id
    assert listed["two"].create_time == request.create_time and not listed["two"].HasField("end_time")
    assert db.events.count_documents({"experiment": ObjectId(first.experiment.id)}) == 0  # history, not live changes

    name_taken = import_experiment()
    name_taken.experiment.name = first.experiment.name
    await expect_error(Code.ALREADY_EXISTS, admin.imports.ImportExperiment(name_taken))
