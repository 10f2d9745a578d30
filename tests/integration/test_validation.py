"""Bad input: INVALID_ARGUMENT whose message names the field to fix, and nothing stored changes
(every refusal is followed by a re-read). Each limit is also checked at the boundary, where it passes."""

from __future__ import annotations

import asyncio

import pytest
from bson import ObjectId
from google.protobuf import struct_pb2, timestamp_pb2

from drift_monitoring.v1 import drift_pb2, experiment_pb2, user_pb2
from tests.integration.helpers import MANAGER, READ, Code, bad_request_fields, direct_api, expect_error, unique

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _nested(depth: int) -> dict:
    """Parameters nested depth levels deep, counting the parameters object itself as level 1."""
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"n": value}
    return value


def _with_parameters(field: str = "concept_drift", **parameters: object) -> drift_pb2.Drift:
    drift = drift_pb2.Drift(model="m")
    getattr(drift, field).parameters.update(parameters)
    return drift


def _with_number(value: float) -> drift_pb2.Drift:
    drift = drift_pb2.Drift(model="m")
    drift.concept_drift.parameters.fields["p"].CopyFrom(struct_pb2.Value(number_value=value))
    return drift


def _both_parameters(size: int) -> drift_pb2.Drift:
    drift = _with_parameters(blob="x" * size)
    drift.data_drift.parameters.update({"blob": "y" * size})
    return drift


def _at(seconds: int) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=seconds)


# -- experiments --------------------------------------------------------------------------------------

BAD_EXPERIMENTS = {
    "empty name": (experiment_pb2.Experiment(name=""), "experiment.name"),
    "name of 129": (experiment_pb2.Experiment(name="x" * 129), "experiment.name"),
    "control character": (experiment_pb2.Experiment(name="tab\x01name"), "experiment.name"),
    "description of 4097": (experiment_pb2.Experiment(name="ok", description="d" * 4097), "experiment.description"),
    "unknown grant level": (experiment_pb2.Experiment(name="ok", grants=[experiment_pb2.Grant(entity="g", level=7)]), "experiment.grants[0].level"),
    "grant without level": (experiment_pb2.Experiment(name="ok", grants=[experiment_pb2.Grant(entity="g")]), "experiment.grants[0].level"),
    "grant without entity": (experiment_pb2.Experiment(name="ok", grants=[experiment_pb2.Grant(entity="", level=READ)]), "experiment.grants[0].entity"),
    "257 grants": (
        experiment_pb2.Experiment(name="ok", grants=[experiment_pb2.Grant(entity=f"urn:g{i}", level=READ) for i in range(257)]),
        "experiment.grants",
    ),
}


@pytest.mark.parametrize("case", BAD_EXPERIMENTS)
async def test_bad_experiment_is_refused(people, db, case):
    experiment, field = BAD_EXPERIMENTS[case]
    if experiment.name == "ok":
        experiment.name = unique("never-stored")
    before = db.experiments.count_documents({})
    request = experiment_pb2.CreateExperimentRequest(experiment=experiment)
    error = await expect_error(Code.INVALID_ARGUMENT, people["manager"].experiments.CreateExperiment(request), mentions=field)
    assert error.details().startswith(field)
    assert db.experiments.count_documents({}) == before
    assert db.experiments.count_documents({"name": experiment.name}) == 0


async def test_experiment_limits_are_inclusive(people):
    manager = people["manager"]
    name = unique("n").ljust(128, "n")
    grants = [experiment_pb2.Grant(entity=f"urn:g{i}", level=READ) for i in range(256)]
    created = await manager.create_experiment(name, description="d" * 4096, grants=grants)
    assert (len(created.name), len(created.description), len(created.grants)) == (128, 4096, 256)
    shortest = await manager.create_experiment("x")
    assert shortest.name == "x"
    await manager.delete_experiment(shortest.id)  # free the name again


async def test_invalid_argument_carries_a_bad_request_detail(people):
    """The message names the field, and so does the google.rpc.BadRequest detail (both survive Envoy)."""
    request = experiment_pb2.CreateExperimentRequest(experiment=experiment_pb2.Experiment(name=""))
    error = await expect_error(Code.INVALID_ARGUMENT, people["manager"].experiments.CreateExperiment(request))
    assert bad_request_fields(error) == ["experiment.name"]


BAD_EXPERIMENT_UPDATES = {
    "unknown mask path": ({"description": "new"}, ["description", "colour"], "update_mask"),
    "output-only mask path": ({"description": "new"}, ["owner"], "update_mask"),
    "empty name": ({"name": ""}, ["name"], "experiment.name"),
    "name of 129": ({"name": "n" * 129}, ["name"], "experiment.name"),
    "description of 4097": ({"description": "d" * 4097}, ["description"], "experiment.description"),
    "unknown grant level": ({"grants": [experiment_pb2.Grant(entity="g", level=99)]}, ["grants"], "experiment.grants[0].level"),
    "name without mask": ({"name": "n" * 129, "description": "fine"}, None, "experiment.name"),
}


@pytest.mark.parametrize("case", BAD_EXPERIMENT_UPDATES)
async def test_bad_experiment_update_changes_nothing(people, shared_scenario, db, case):
    fields, paths, field = BAD_EXPERIMENT_UPDATES[case]
    manager = people["manager"]
    before_api, before_db = await manager.get_experiment(shared_scenario.private.id), db.experiments.find_one({"_id": ObjectId(shared_scenario.private.id)})
    await expect_error(Code.INVALID_ARGUMENT, manager.update_experiment(shared_scenario.private.id, paths, **fields), mentions=field)
    assert await manager.get_experiment(shared_scenario.private.id) == before_api
    assert db.experiments.find_one({"_id": ObjectId(shared_scenario.private.id)}) == before_db


# -- drifts -------------------------------------------------------------------------------------------

BAD_DRIFTS = {
    "empty model": (drift_pb2.Drift(model=""), "drift.model"),
    "model of 257": (drift_pb2.Drift(model="m" * 257), "drift.model"),
    "unknown status": (drift_pb2.Drift(model="m", status=99), "drift.status"),
    "65 tags": (drift_pb2.Drift(model="m", tags=[f"t{i}" for i in range(65)]), "drift.tags"),
    "empty tag": (drift_pb2.Drift(model="m", tags=["ok", ""]), "drift.tags[1]"),
    "tag of 129": (drift_pb2.Drift(model="m", tags=["t" * 129]), "drift.tags[0]"),
    "error message of 4097": (drift_pb2.Drift(model="m", error_message="e" * 4097), "drift.error_message"),
    "key starting with $": (_with_parameters(**{"$where": "sleep(1000)"}), "drift.concept_drift.parameters"),
    "nested key starting with $": (_with_parameters(ks={"$gt": 1}), "drift.concept_drift.parameters"),
    "key with a dot": (_with_parameters("data_drift", **{"a.b": 1}), "drift.data_drift.parameters"),
    "result key with $": (_with_parameters("result", **{"$set": {"model": "x"}}), "drift.result.parameters"),
    "parameters over 64 KiB": (_with_parameters(big="x" * 70_000), "drift.concept_drift.parameters"),
    "parameters over 64 KiB in total": (_both_parameters(40_000), "parameters"),
    "nesting of 17": (_with_parameters(**_nested(17)), "drift.concept_drift.parameters"),
    "NaN": (_with_number(float("nan")), "drift.concept_drift.parameters.p"),
    "Infinity": (_with_number(float("inf")), "drift.concept_drift.parameters.p"),
    "feature without name": (
        drift_pb2.Drift(model="m", data_drift=drift_pb2.DriftResult(features=[drift_pb2.FeatureResult(feature="")])),
        "drift.data_drift.features[0].feature",
    ),
    "start time after year 9999": (drift_pb2.Drift(model="m", start_time=_at(253402300800 * 2)), "drift.start_time"),
}


@pytest.mark.parametrize("case", BAD_DRIFTS)
async def test_bad_drift_is_refused(people, shared_scenario, db, case):
    drift, field = BAD_DRIFTS[case]
    before = db.drifts.count_documents({"experiment": ObjectId(shared_scenario.private.id)})
    request = drift_pb2.CreateDriftRequest(experiment_id=shared_scenario.private.id, drift=drift, request_id=unique("bad"))
    await expect_error(Code.INVALID_ARGUMENT, people["editor"].drifts.CreateDrift(request), mentions=field)
    assert db.drifts.count_documents({"experiment": ObjectId(shared_scenario.private.id)}) == before
    assert db.drifts.count_documents({"request_id": request.request_id}) == 0


async def test_request_id_over_128_characters_is_refused(people, shared_scenario, db):
    before = db.drifts.count_documents({"experiment": ObjectId(shared_scenario.private.id)})
    await expect_error(Code.INVALID_ARGUMENT, people["editor"].create_drift(shared_scenario.private.id, request_id="r" * 129), mentions="request_id")
    assert db.drifts.count_documents({"experiment": ObjectId(shared_scenario.private.id)}) == before


async def test_drift_limits_are_inclusive(people, shared_scenario):
    editor = people["editor"]
    at_the_limits = drift_pb2.Drift(model="m" * 256, tags=[f"{i:03d}".ljust(128, "t") for i in range(64)], error_message="e" * 4096)
    at_the_limits.concept_drift.parameters.update(_nested(16))
    at_the_limits.data_drift.parameters.update({"blob": "x" * 60_000})
    drift = await editor.drifts.CreateDrift(drift_pb2.CreateDriftRequest(experiment_id=shared_scenario.private.id, drift=at_the_limits, request_id="r" * 128))
    assert (len(drift.model), len(drift.tags), len(drift.error_message)) == (256, 64, 4096)
    assert drift.concept_drift.parameters == at_the_limits.concept_drift.parameters
    assert len(drift.data_drift.parameters["blob"]) == 60_000


def _update_cases() -> dict[str, tuple[dict, list[str] | None, str]]:
    nested_dollar = struct_pb2.Struct()
    nested_dollar.update({"ok": {"$set": 1}})
    return {
        "unknown mask path": ({"model": "x"}, ["model", "colour"], "update_mask"),
        "output-only mask path": ({"model": "x"}, ["creator"], "update_mask"),
        "status cleared": ({}, ["status"], "drift.status"),
        "unknown status": ({"status": 99}, ["status"], "drift.status"),
        "unknown status without mask": ({"status": 99, "model": "fine"}, None, "drift.status"),
        "empty model": ({"model": ""}, ["model"], "drift.model"),
        "65 tags": ({"tags": [f"t{i}" for i in range(65)]}, ["tags"], "drift.tags"),
        "start time cleared": ({}, ["start_time"], "drift.start_time"),
        "start time out of range": ({"start_time": _at(253402300800 * 2)}, ["start_time"], "drift.start_time"),
        "nested key with $": ({"concept_drift": drift_pb2.DriftResult(parameters=nested_dollar)}, ["concept_drift"], "drift.concept_drift.parameters"),
    }


BAD_DRIFT_UPDATES = _update_cases()


@pytest.mark.parametrize("case", BAD_DRIFT_UPDATES)
async def test_bad_drift_update_changes_nothing(people, shared_scenario, db, case):
    fields, paths, field = BAD_DRIFT_UPDATES[case]
    editor, drift_id = people["editor"], shared_scenario.private_drift_id
    before_api, before_db = await editor.get_drift(shared_scenario.private.id, drift_id), db.drifts.find_one({"_id": ObjectId(drift_id)})
    await expect_error(Code.INVALID_ARGUMENT, editor.update_drift(shared_scenario.private.id, drift_id, paths, **fields), mentions=field)
    assert await editor.get_drift(shared_scenario.private.id, drift_id) == before_api
    assert db.drifts.find_one({"_id": ObjectId(drift_id)}) == before_db


async def test_update_may_not_push_a_drifts_parameters_over_64_kib(people, shared_scenario, db):
    """The limit is on all parameters of a drift: 40 KB already stored plus 40 KB more is too much."""
    editor = people["editor"]
    drift = await editor.create_drift(shared_scenario.private.id, concept_drift=_with_parameters(blob="x" * 40_000).concept_drift)
    before = db.drifts.find_one({"_id": ObjectId(drift.id)})
    more = _with_parameters("data_drift", blob="y" * 40_000).data_drift
    await expect_error(Code.INVALID_ARGUMENT, editor.update_drift(shared_scenario.private.id, drift.id, ["data_drift"], data_drift=more), mentions="parameters")
    assert db.drifts.find_one({"_id": ObjectId(drift.id)}) == before


# -- batches ------------------------------------------------------------------------------------------


async def test_batch_limits(people, shared_scenario, db):
    editor = people["editor"]
    before = db.drifts.count_documents({})
    too_many = [drift_pb2.CreateDriftRequest(drift=drift_pb2.Drift(model="m")) for _ in range(1001)]
    request = drift_pb2.BatchCreateDriftsRequest(experiment_id=shared_scenario.private.id, requests=too_many)
    await expect_error(Code.INVALID_ARGUMENT, editor.drifts.BatchCreateDrifts(request), mentions="requests")
    empty = drift_pb2.BatchCreateDriftsRequest(experiment_id=shared_scenario.private.id)
    await expect_error(Code.INVALID_ARGUMENT, editor.drifts.BatchCreateDrifts(empty), mentions="requests")
    elsewhere = drift_pb2.CreateDriftRequest(experiment_id=shared_scenario.public.id, drift=drift_pb2.Drift(model="m"))
    mixed = drift_pb2.BatchCreateDriftsRequest(experiment_id=shared_scenario.private.id, requests=[elsewhere])
    await expect_error(Code.INVALID_ARGUMENT, editor.drifts.BatchCreateDrifts(mixed), mentions="requests[0].experiment_id")
    assert db.drifts.count_documents({}) == before


# -- lists and ids ------------------------------------------------------------------------------------

BAD_LISTS = [
    ({"page_size": -1}, "page_size"),
    ({"order_by": "colour"}, "order_by"),
    ({"order_by": "create_time sideways"}, "order_by"),
    ({"order_by": "model desc asc"}, "order_by"),
    ({"order_by": "creator"}, "order_by"),
    ({"filter": "model ="}, "filter"),
    ({"page_token": "garbage"}, "page_token"),
]


@pytest.mark.parametrize(("fields", "field"), BAD_LISTS, ids=[str(f) for f, _ in BAD_LISTS])
async def test_bad_list_drifts_requests(people, shared_scenario, fields, field):
    await expect_error(Code.INVALID_ARGUMENT, people["reader"].list_drifts(shared_scenario.private.id, **fields), mentions=field)


BAD_EXPERIMENT_LISTS = [
    ({"page_size": -5}, "page_size"),
    ({"order_by": "model"}, "order_by"),
    ({"order_by": "owner"}, "order_by"),
    ({"filter": "model = x"}, "filter"),
    ({"filter": "name = 'a' junk"}, "filter"),
    ({"page_token": "garbage"}, "page_token"),
]


@pytest.mark.parametrize(("fields", "field"), BAD_EXPERIMENT_LISTS, ids=[str(f) for f, _ in BAD_EXPERIMENT_LISTS])
async def test_bad_list_experiments_requests(people, fields, field):
    await expect_error(Code.INVALID_ARGUMENT, people["reader"].list_experiments(**fields), mentions=field)


@pytest.mark.parametrize(("fields", "field"), [({"page_size": -1}, "page_size"), ({"order_by": "subject"}, "order_by"), ({"filter": "admin = true"}, "filter")])
async def test_bad_list_users_requests(people, fields, field):
    await expect_error(Code.INVALID_ARGUMENT, people["admin"].users.ListUsers(user_pb2.ListUsersRequest(**fields)), mentions=field)


async def test_bad_ids(people, shared_scenario):
    reader = people["reader"]
    await expect_error(Code.INVALID_ARGUMENT, reader.get_experiment("not-an-id"), mentions="experiment_id")
    await expect_error(Code.INVALID_ARGUMENT, reader.get_experiment(""), mentions="experiment_id")
    await expect_error(Code.INVALID_ARGUMENT, reader.get_drift(shared_scenario.private.id, "not-an-id"), mentions="drift_id")
    await expect_error(Code.NOT_FOUND, reader.get_experiment(str(ObjectId())))


async def test_oversized_page_size_is_coerced_to_1000(start_server, direct_to, issuer, scratch_database):
    """1001 drifts, page_size 5000: a page of exactly 1000 and a token for the one left.
    (Own server and database: a thousand drifts would slow every later test on FerretDB.)"""
    process = await asyncio.to_thread(start_server, MONGODB_URI=scratch_database[0])
    api = await direct_api(direct_to(process), MANAGER, issuer.url).register()
    experiment_id = (await api.create_experiment()).id
    await api.batch_create(experiment_id, [drift_pb2.Drift(model="bulk")] * 1000)
    await api.create_drift(experiment_id)
    page = await api.list_drifts(experiment_id, page_size=5000)
    assert len(page.drifts) == 1000 and page.next_page_token
    rest = await api.list_drifts(experiment_id, page_size=5000, page_token=page.next_page_token)
    assert len(rest.drifts) == 1 and rest.next_page_token == ""
    default = await api.list_drifts(experiment_id)
    assert len(default.drifts) == 100  # the documented default page size
