"""ExperimentService CRUD against a real server and database: create, get, list, update_mask,
unique names, and deletion cascading to drifts (checked in the database itself)."""

from __future__ import annotations

import pytest
from bson import ObjectId

from drift_monitoring.v1 import experiment_pb2
from tests.integration.helpers import EDIT, MANAGE, READ, Code, expect_error, unique, walk_experiments

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_create_returns_the_stored_experiment(people, db):
    manager = people["manager"]
    name = unique("churn")
    grant = experiment_pb2.Grant(entity="urn:drift-monitoring:group:x", level=READ)
    created = await manager.create_experiment(name, description="weekly churn", grants=[grant])
    assert created.id and created.name == name and created.description == "weekly churn" and not created.public
    assert created.owner == manager.id and created.caller_access == MANAGE
    assert [(g.entity, g.level) for g in created.grants] == [(grant.entity, READ)]
    assert created.create_time.seconds > 0 and created.update_time == created.create_time
    stored = db.experiments.find_one({"_id": ObjectId(created.id)})
    assert (stored["name"], stored["owner"], stored["public"]) == (name, manager.id, False)


async def test_get_returns_what_create_returned(people):
    manager = people["manager"]
    created = await manager.create_experiment(description="x", public=True)
    assert await manager.get_experiment(created.id) == created


async def test_list_finds_it_by_name(people):
    manager = people["manager"]
    created = await manager.create_experiment(unique("listed"))
    listed = await manager.list_experiments(filter=f'name = "{created.name}"')
    assert list(listed.experiments) == [created] and listed.next_page_token == ""


async def test_list_is_ordered_by_name_by_default(people):
    manager = people["manager"]
    prefix = unique("order")
    for suffix in ("c", "a", "b"):
        await manager.create_experiment(f"{prefix}-{suffix}")
    listed = await walk_experiments(manager, 2, filter=f'name = "{prefix}-*"')
    assert [e.name for e in listed] == [f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"]
    reverse = await walk_experiments(manager, 2, filter=f'name = "{prefix}-*"', order_by="name desc")
    assert [e.name for e in reverse] == [f"{prefix}-c", f"{prefix}-b", f"{prefix}-a"]


async def test_name_is_unique(people, db):
    name = unique("dup")
    await people["manager"].create_experiment(name)
    await expect_error(Code.ALREADY_EXISTS, people["editor"].create_experiment(name, public=True), mentions="experiment.name")
    assert db.experiments.count_documents({"name": name}) == 1


async def test_update_with_mask_changes_only_masked_fields(people):
    manager = people["manager"]
    created = await manager.create_experiment(description="before")
    updated = await manager.update_experiment(created.id, ["description"], name="ignored", description="after", public=True)
    assert (updated.name, updated.description, updated.public) == (created.name, "after", False)
    assert updated.update_time.ToDatetime() >= created.update_time.ToDatetime()
    assert updated.create_time == created.create_time
    assert await manager.get_experiment(created.id) == updated


async def test_update_without_mask_uses_populated_fields(people):
    manager = people["manager"]
    created = await manager.create_experiment(description="keep me")
    new_name = unique("renamed")
    updated = await manager.update_experiment(created.id, name=new_name, public=True)
    assert (updated.name, updated.description, updated.public) == (new_name, "keep me", True)


async def test_mask_can_clear_fields(people):
    manager = people["manager"]
    grant = experiment_pb2.Grant(entity="urn:g", level=READ)
    created = await manager.create_experiment(description="to be cleared", public=True, grants=[grant])
    updated = await manager.update_experiment(created.id, ["description", "public", "grants"])
    assert (updated.description, updated.public, list(updated.grants)) == ("", False, [])


async def test_rename_onto_taken_name_is_refused(people):
    manager = people["manager"]
    taken = await manager.create_experiment()
    other = await manager.create_experiment()
    await expect_error(Code.ALREADY_EXISTS, manager.update_experiment(other.id, ["name"], name=taken.name), mentions="experiment.name")
    assert (await manager.get_experiment(other.id)).name == other.name


async def test_renaming_frees_the_old_name(people):
    manager = people["manager"]
    created = await manager.create_experiment()
    await manager.update_experiment(created.id, ["name"], name=created.name + "-v2")
    reused = await manager.create_experiment(created.name)
    assert reused.id != created.id


async def test_grants_merge_to_the_highest_level_per_entity(people):
    grants = [experiment_pb2.Grant(entity="urn:g", level=READ), experiment_pb2.Grant(entity="urn:g", level=EDIT)]
    created = await people["manager"].create_experiment(grants=grants)
    assert [(g.entity, g.level) for g in created.grants] == [("urn:g", EDIT)]


async def test_delete_cascades_to_drifts(people, db):
    manager = people["manager"]
    doomed = await manager.create_experiment()
    survivor = await manager.create_experiment()
    for index in range(3):
        await manager.create_drift(doomed.id, request_id=f"r{index}")
    kept = await manager.create_drift(survivor.id)
    assert db.drifts.count_documents({"experiment": ObjectId(doomed.id)}) == 3

    await manager.delete_experiment(doomed.id)

    assert db.experiments.count_documents({"_id": ObjectId(doomed.id)}) == 0
    assert db.drifts.count_documents({"experiment": ObjectId(doomed.id)}) == 0
    # The drift snapshots in the event log go too; at most a marker that ends watch streams remains.
    assert db.events.count_documents({"experiment": ObjectId(doomed.id), "type": {"$in": ["CREATED", "UPDATED", "DELETED"]}}) == 0
    await expect_error(Code.NOT_FOUND, manager.get_experiment(doomed.id))
    await expect_error(Code.NOT_FOUND, manager.list_drifts(doomed.id))
    await expect_error(Code.NOT_FOUND, manager.get_drift(doomed.id, kept.id))
    assert await manager.get_drift(survivor.id, kept.id) == kept  # other experiments keep theirs


async def test_delete_twice_is_not_found(people):
    manager = people["manager"]
    created = await manager.create_experiment()
    await manager.delete_experiment(created.id)
    await expect_error(Code.NOT_FOUND, manager.delete_experiment(created.id))


async def test_deleted_name_can_be_reused(people):
    manager = people["manager"]
    created = await manager.create_experiment()
    await manager.delete_experiment(created.id)
    again = await manager.create_experiment(created.name)
    assert again.id != created.id and list((await manager.list_drifts(again.id)).drifts) == []


# Characters the filter language, a regex or a shell would read specially; names may contain any of them.
METACHARACTER_SUFFIXES = ("*", "\\*", ".*", "^", "$", "[a-z]", "(x|y)", "+", "?", '"', "'", "\\", " AND name:*", "%")


@pytest.mark.parametrize("suffix", METACHARACTER_SUFFIXES)
async def test_lookup_is_exact_whatever_the_name_contains(people, suffix):
    manager = people["manager"]
    stem = unique("exact")
    # "!" sorts before every suffix's first character: a prefix match ordered by name would find it first.
    decoy = await manager.create_experiment(f"{stem}!decoy")
    await expect_error(Code.NOT_FOUND, manager.lookup_experiment(stem + suffix))
    wanted = await manager.create_experiment(stem + suffix)
    assert await manager.lookup_experiment(stem + suffix) == wanted
    assert await manager.lookup_experiment(decoy.name) == decoy
    await expect_error(Code.NOT_FOUND, manager.lookup_experiment(stem))  # no prefix, no case folding either
    await expect_error(Code.NOT_FOUND, manager.lookup_experiment((stem + suffix).upper()))


async def test_lookup_of_an_unreadable_name_is_the_same_not_found_as_a_missing_one(people):
    private = await people["manager"].create_experiment(unique("secret"))
    hidden = await expect_error(Code.NOT_FOUND, people["outsider"].lookup_experiment(private.name))
    missing = await expect_error(Code.NOT_FOUND, people["outsider"].lookup_experiment(private.name + "-none"))
    details = [dict(error.trailing_metadata())["grpc-status-details-bin"] for error in (hidden, missing)]
    assert hidden.details() == missing.details() and details[0] == details[1]
    assert await people["admin"].lookup_experiment(private.name) == private


async def test_lookup_needs_a_name(people):
    error = await expect_error(Code.INVALID_ARGUMENT, people["reader"].lookup_experiment(""), mentions="name")
    assert "is required" in error.details()
