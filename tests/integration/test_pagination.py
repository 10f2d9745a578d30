"""Cursor pagination: stable under inserts, ordered as asked, tokens opaque and bound to their request."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from bson import ObjectId

from drift_monitoring.v1 import drift_pb2
from tests.integration.helpers import Code, expect_error, unique, walk_drifts, walk_experiments

pytestmark = pytest.mark.asyncio(loop_scope="session")

SIZE = 23
STATUS_NAME = {1: "RUNNING", 2: "COMPLETED", 3: "FAILED"}


def _drift(index: int) -> drift_pb2.Drift:
    drift = drift_pb2.Drift(model=f"m{index % 4}", status=1 + index % 3)
    # start_time: some equal, none in creation order, so ties and order both matter
    drift.start_time.FromDatetime(datetime(2026, 3, 1, tzinfo=UTC) + timedelta(hours=(index * 7) % 5))
    return drift


async def _fill(manager) -> str:
    """An experiment with 23 drifts: 4 models, 3 statuses, 5 start times, so every order has ties."""
    experiment = await manager.create_experiment()
    await manager.batch_create(experiment.id, [_drift(i) for i in range(SIZE)], prefix="p")
    return experiment.id


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def filled(people):
    """Shared by the tests that only read it."""
    return await _fill(people["manager"])


@pytest_asyncio.fixture(loop_scope="session")
async def fresh(people):
    """Its own, for tests that insert or delete while paging."""
    return await _fill(people["manager"])


def _key(drift: drift_pb2.Drift, field: str):
    if field == "status":  # statuses sort by name, as stored: COMPLETED < FAILED < RUNNING
        return STATUS_NAME[drift.status]
    if field.endswith("_time"):
        return getattr(drift, field).ToDatetime() if drift.HasField(field) else datetime.min
    return getattr(drift, field)


# Every sort key ListDriftsRequest.order_by documents: create_time, update_time, start_time, model, status.
ORDERS = [
    "", "create_time", "create_time desc", "create_time asc", "update_time", "update_time desc", "start_time", "start_time desc",
    "model", "model desc", "status", "status asc",
]


@pytest.mark.parametrize("order_by", ORDERS)
async def test_pages_cover_everything_once_in_order(people, filled, order_by):
    seen = await walk_drifts(people["manager"], filled, 5, order_by=order_by)
    assert len(seen) == SIZE and len({d.id for d in seen}) == SIZE
    field, *direction = (order_by or "create_time desc").split()
    keys = [_key(d, field) for d in seen]
    assert keys == sorted(keys, reverse=direction == ["desc"])



@pytest.mark.parametrize("order_by", ["end_time", "creator", "model, status", "model desc asc"])
async def test_undocumented_sort_keys_are_refused(people, filled, order_by):
    """Only indexed, documented keys sort; anything else is INVALID_ARGUMENT naming order_by."""
    error = await expect_error(Code.INVALID_ARGUMENT, people["manager"].list_drifts(filled, order_by=order_by))
    assert error.details().startswith("order_by"), error.details()

async def test_default_order_is_creation_order_newest_first(people, filled, db):
    """The default order pages by bucket of creation ordinal (server/ordinals.py): the batch's drifts come
    back in the reverse of the order they were sent, and create_time agrees with it."""
    seen = await walk_drifts(people["manager"], filled, 7)
    stored = {str(d["_id"]): d["request_id"] for d in db.drifts.find({"experiment": ObjectId(filled)})}
    assert [stored[d.id] for d in seen] == [f"p{i}" for i in reversed(range(SIZE))]
    times = [d.create_time.ToDatetime() for d in seen]
    assert times == sorted(times, reverse=True)


async def test_page_sizes(people, filled):
    manager = people["manager"]
    first = await manager.list_drifts(filled, page_size=10)
    assert len(first.drifts) == 10 and first.next_page_token
    everything = await manager.list_drifts(filled, page_size=SIZE)
    assert len(everything.drifts) == SIZE
    assert (await manager.list_drifts(filled, page_size=0)).next_page_token == ""  # default 100 > 23


@pytest.mark.parametrize("order_by", ["create_time desc", "create_time", "model", "model desc", "start_time", "update_time", "status desc"])
async def test_inserts_while_paging_never_duplicate_or_skip(people, fresh, order_by):
    """New drifts land before, after and among the pages already read; none of it may make the walk
    return a drift twice or miss one that existed before it started."""
    manager = people["manager"]
    before = {d.id for d in await walk_drifts(manager, fresh, 100)}
    inserted = 0

    async def insert_some() -> None:
        nonlocal inserted
        for model in ("a-first", "m2", "z-last"):
            drift = _drift(inserted)
            drift.model = model
            await manager.create_drift(fresh, **{f: getattr(drift, f) for f in ("model", "status", "start_time")})
            inserted += 1

    seen = [d.id for d in await walk_drifts(manager, fresh, 4, on_page=insert_some, order_by=order_by)]
    assert len(seen) == len(set(seen)), "a drift appeared twice"
    assert before <= set(seen), f"{len(before - set(seen))} drifts that existed before paging were skipped"


async def test_deletes_while_paging_never_duplicate_or_skip_the_rest(people, fresh):
    manager = people["manager"]
    everything = await walk_drifts(manager, fresh, 100)
    doomed = iter([d.id for d in everything[::3]])
    seen: list[str] = []
    token = ""
    while True:
        page = await manager.list_drifts(fresh, page_size=4, page_token=token)
        seen += [d.id for d in page.drifts]
        for drift_id in (next(doomed, None), next(doomed, None)):
            if drift_id and drift_id not in seen:
                await manager.delete_drift(fresh, drift_id)
        token = page.next_page_token
        if not token:
            break
    survivors = {d.id for d in await walk_drifts(manager, fresh, 100)}
    assert len(seen) == len(set(seen)) and survivors <= set(seen)


async def test_filtered_pages(people, filled):
    seen = await walk_drifts(people["manager"], filled, 2, filter="model = m1", order_by="start_time")
    assert len(seen) == len([i for i in range(SIZE) if i % 4 == 1]) and {d.model for d in seen} == {"m1"}


async def test_token_is_bound_to_filter_order_and_experiment(people, filled, shared_scenario):
    manager = people["manager"]
    token = (await manager.list_drifts(filled, page_size=2)).next_page_token
    assert token
    for other in ({"filter": "model = m1"}, {"order_by": "model"}, {"order_by": "create_time"}):
        await expect_error(Code.INVALID_ARGUMENT, manager.list_drifts(filled, page_size=2, page_token=token, **other), mentions="page_token")
    await expect_error(Code.INVALID_ARGUMENT, manager.list_drifts(shared_scenario.public.id, page_token=token), mentions="page_token")
    await expect_error(Code.INVALID_ARGUMENT, manager.list_experiments(page_token=token), mentions="page_token")
    # the same request with the same token still works, and page_size may change between pages
    assert len((await manager.list_drifts(filled, page_size=2, page_token=token)).drifts) == 2
    assert len((await manager.list_drifts(filled, page_size=30, page_token=token)).drifts) == SIZE - 2


async def test_experiment_token_is_not_a_drift_token(people, filled):
    manager = people["manager"]
    for _ in range(2):
        await manager.create_experiment()
    token = (await manager.list_experiments(page_size=1)).next_page_token
    assert token
    await expect_error(Code.INVALID_ARGUMENT, manager.list_drifts(filled, page_token=token), mentions="page_token")


def _flip(token: str, index: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[index % len(raw)] ^= 1
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


@pytest.mark.parametrize("where", [0, 5, -1])
async def test_tampered_token_is_refused(people, filled, where):
    manager = people["manager"]
    token = (await manager.list_drifts(filled, page_size=2)).next_page_token
    await expect_error(Code.INVALID_ARGUMENT, manager.list_drifts(filled, page_size=2, page_token=_flip(token, where)), mentions="page_token")


@pytest.mark.parametrize("token", ["garbage", "e30", "AAAA", "x" * 5000])
async def test_made_up_tokens_are_refused(people, filled, token):
    await expect_error(Code.INVALID_ARGUMENT, people["manager"].list_drifts(filled, page_token=token), mentions="page_token")


async def test_token_does_not_bypass_authorization(people, shared_scenario):
    private = shared_scenario.private.id
    token = (await people["manager"].list_drifts(private, page_size=1)).next_page_token
    assert token
    await expect_error(Code.NOT_FOUND, people["outsider"].list_drifts(private, page_size=1, page_token=token))


@pytest.mark.parametrize("order_by", ["", "name desc", "create_time", "update_time desc"])
async def test_experiment_pages(people, order_by):
    manager = people["manager"]
    prefix = unique("pg")
    names = [f"{prefix}-{letter}" for letter in "dbfaec"]
    for name in names:
        await manager.create_experiment(name)
    seen = await walk_experiments(manager, 2, filter=f'name = "{prefix}-*"', order_by=order_by)
    assert sorted(e.name for e in seen) == sorted(names) and len(seen) == len(names)
    field, *direction = (order_by or "name").split()
    keys = [getattr(e, field).ToDatetime() if field.endswith("_time") else getattr(e, field) for e in seen]
    assert keys == sorted(keys, reverse=direction == ["desc"])
    if order_by == "create_time":
        assert [e.name for e in seen] == names  # created in this order
