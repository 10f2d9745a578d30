"""FerretDB's GIN indexes (server/ferretdb_indexes.py): made by the server, and used by each hot query.

FerretDB's `explain` answers with PostgreSQL's own plan for the SQL its `find` sends, so these plans are
those of the server's real queries: each must reach its rows through a bitmap scan of one of our indexes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pymongo
import pytest
from bson import ObjectId

from server import ferretdb_indexes
from stack.database import postgresql_url_for

ROWS = 3000


@pytest.fixture(scope="module")
def postgresql_url(mongo_base: str) -> str:
    if not postgresql_url_for(mongo_base):
        pytest.skip("MONGODB_URI names a database that is not this session's FerretDB: nothing to check")
    return postgresql_url_for(mongo_base)


def _indexes(url: str, schema: str) -> dict[str, str]:
    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s", (schema,)).fetchall()
    return dict(rows)


def test_the_server_made_the_gin_indexes_of_its_database(server: Any, db: pymongo.database.Database, postgresql_url: str) -> None:
    made = {definition for name, definition in _indexes(postgresql_url, db.name).items() if name.startswith("dm_gin_")}
    for collection in ("drifts", "events", "experiments", "users"):
        for field in ferretdb_indexes.fields_for(collection):
            wanted = f"ON {db.name}.{collection}_"  # FerretDB's table: the collection's name and a hash
            assert any(wanted in d and f"USING gin (((_jsonb -> '{field}'::text)) jsonb_path_ops)" in d for d in made), (collection, field)


@pytest.fixture(scope="module")
def filled(mongo_base: str, postgresql_url: str) -> Iterator[pymongo.database.Database]:
    """A database of its own with enough rows that a scan would cost more than an index (the planner's choice)."""
    client = pymongo.MongoClient(mongo_base, tz_aware=True)
    db = client[f"dm_idx_{uuid.uuid4().hex[:8]}"]
    experiments = [ObjectId() for _ in range(10)]
    moment = datetime.now(UTC)
    db.drifts.insert_many(
        {"_id": ObjectId(), "experiment": experiments[i % 10], "bucket": i // 100, "status": ("RUNNING", "COMPLETED")[i % 2],
         "model": f"m{i % 7}", "creator": f"u{i % 3}", "create_time": moment}
        for i in range(ROWS)
    )
    db.events.insert_many({"seq": i + 1, "block": (i + 1) // 100, "experiment": experiments[i % 10], "type": "CREATED",
                           "drift_id": ObjectId()} for i in range(ROWS))
    db.experiments.insert_many({"_id": e, "name": f"e-{e}"} for e in [*experiments, *(ObjectId() for _ in range(ROWS))])
    db.users.insert_many({"_id": f"user-{i}"} for i in range(ROWS))
    made = ferretdb_indexes.FerretIndexes(db, postgresql_url).ensure()
    assert made, "no index made for a fresh database"
    yield db
    client.drop_database(db.name)


def _plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _plan_nodes(child)


HOT = {
    "GetDrift / UpdateDrift / DeleteDrift": ("drifts", lambda e: {"_id": "first-drift"}),
    "ListDrifts, a page of the default order": ("drifts", lambda e: {"experiment": e, "bucket": 3}),
    "ListDrifts filtered on status": ("drifts", lambda e: {"experiment": e, "status": "COMPLETED"}),
    "ListDrifts filtered on model": ("drifts", lambda e: {"experiment": e, "model": "m3"}),
    "ListDrifts filtered on creator": ("drifts", lambda e: {"experiment": e, "creator": "u1"}),
    "the event log tail, by block": ("events", lambda e: {"block": 7}),
    "a watcher's catch-up, by block": ("events", lambda e: {"experiment": e, "block": 7}),
    "GetExperiment": ("experiments", lambda e: {"_id": e}),
    "an experiment by name": ("experiments", lambda e: {"name": f"e-{e}"}),
    "a user": ("users", lambda e: {"_id": "user-17"}),
}


@pytest.mark.parametrize("rpc", list(HOT))
def test_each_hot_query_uses_its_index(filled: pymongo.database.Database, rpc: str) -> None:
    collection, make = HOT[rpc]
    experiment = filled.drifts.find_one({})["experiment"]
    query = make(experiment)
    if query.get("_id") == "first-drift":
        query = {"_id": filled.drifts.find_one({})["_id"]}
    explained = filled.command("explain", {"find": collection, "filter": query})
    assert explained.get("pushdown") is not False
    plan = explained["queryPlanner"][0]["Plan"] if isinstance(explained["queryPlanner"], list) else explained["queryPlanner"]["Plan"]
    scans = [node.get("Index Name", "") for node in _plan_nodes(plan) if node["Node Type"] == "Bitmap Index Scan"]
    assert any(name.startswith("dm_gin_") for name in scans), f"{rpc}: {query} is not served by an index:\n{plan}"
    assert not any(node["Node Type"] == "Seq Scan" for node in _plan_nodes(plan)), f"{rpc}: {query} scans:\n{plan}"


def test_a_retried_create_finds_its_event_through_the_drift_id_index(filled: pymongo.database.Database) -> None:
    """drifts._replayed asks for one CREATED event on every retried create (a spool sync retries each run):
    it must go straight to it, not through all of an experiment's events (nor the whole log)."""
    from server.services.drifts import created_event_query

    drift_id = filled.events.find_one({"seq": 1234})["drift_id"]
    explained = filled.command("explain", {"find": "events", "filter": created_event_query(drift_id)})
    plan = explained["queryPlanner"][0]["Plan"] if isinstance(explained["queryPlanner"], list) else explained["queryPlanner"]["Plan"]
    used = {node.get("Index Name", "") for node in _plan_nodes(plan) if node["Node Type"] == "Bitmap Index Scan"}
    assert any(name.startswith("dm_gin_") and "_drift_id_" in name for name in used), f"not served by the drift_id index:\n{plan}"
    assert not any(node["Node Type"] == "Seq Scan" for node in _plan_nodes(plan)), plan
    assert filled.events.count_documents(created_event_query(drift_id)) == 1


def test_nothing_is_made_against_mongodb_or_without_the_postgresql_url(filled: pymongo.database.Database) -> None:
    assert ferretdb_indexes.is_ferretdb(filled)
    assert ferretdb_indexes.setup(filled, "") is None  # FerretDB, but no PostgreSQL URL: nothing to do
