"""Creation order of an experiment's drifts, paged in O(page) on any database.

Every drift gets `ordinal`, the next number of its experiment's counter (`counters` document
`drifts/<experiment>`: `high` the last ordinal handed out, `low` the lowest in use), and `bucket` =
ordinal // BUCKET. The default ListDrifts order (newest first) walks buckets downwards from the one holding
the page token's ordinal, asking for `{experiment, bucket}` plus the caller's filter, sorted by
(ordinal, _id) and limited to what the page still lacks: a page of 100 is usually two equality queries.
FerretDB v1 pushes those equalities down to its GIN indexes (ferretdb_indexes.py) and sorts at most a
bucket in memory; on MongoDB the declared (experiment, bucket, ordinal, _id) index serves each one.

Ordinals are allocated under a per-experiment lock together with the create time, so within a server
process creation order and create_time agree. Two processes may, rarely, hand out the same ordinal
(FerretDB's findAndModify is not atomic across connections): (ordinal, _id) still orders every drift
once. Drifts stored before ordinals existed get negative ones (oldest lowest) once, at start-up.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Sequence
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from server.db import now
from server.listing import conjoin

BUCKET = 100  # the default page size: a default page spans at most two buckets
BACKFILL_MARKER = "backfill/drift-ordinals"
_STRIPES = [threading.Lock() for _ in range(64)]


def _key(experiment: ObjectId) -> str:
    return f"drifts/{experiment}"


def counters(drifts: Collection[Any]) -> Collection[Any]:
    return drifts.database["counters"]


def bucket_of(ordinal: int) -> int:
    return ordinal // BUCKET


def bounds(drifts: Collection[Any], experiment: ObjectId) -> tuple[int, int]:
    """(lowest, highest) ordinal the experiment has handed out; (1, 0) when none."""
    doc = counters(drifts).find_one({"_id": _key(experiment)}) or {}
    return int(doc.get("low", 1)), int(doc.get("high", 0))


def forget(drifts: Collection[Any], experiment: ObjectId) -> None:
    """Drop a deleted experiment's counter (blocking)."""
    counters(drifts).delete_one({"_id": _key(experiment)})


def raise_low(drifts: Collection[Any], experiment: ObjectId, low: int) -> None:
    """Every ordinal below `low` is gone (retention): later walks stop there."""
    counters(drifts).update_one({"_id": _key(experiment)}, {"$max": {"low": low}})


def stamp(drifts: Collection[Any], docs: Sequence[dict[str, Any]], *, restamp: bool = True) -> None:
    """Give docs (all of one experiment, new) consecutive ordinals and their buckets, and (restamp) the
    times they took from "now" the moment the ordinals were taken, so the two orders agree. Imports keep
    their times: they are new in creation order, whatever their create_time says."""
    if not docs:
        return
    experiment = docs[0]["experiment"]
    with _STRIPES[zlib.crc32(experiment.binary) % len(_STRIPES)]:
        for attempt in range(3):
            try:
                doc = counters(drifts).find_one_and_update(
                    {"_id": _key(experiment)}, {"$inc": {"high": len(docs)}}, upsert=True, return_document=ReturnDocument.AFTER
                )
                break
            except DuplicateKeyError:  # two first drifts of an experiment upserted at once: the counter exists now
                if attempt == 2:
                    raise
        first = int(doc["high"]) - len(docs) + 1
        moment = now()
        for index, drift in enumerate(docs):
            before = drift["create_time"]
            for field in ("create_time", "update_time", "start_time", "end_time") if restamp else ():
                if drift.get(field) == before:
                    drift[field] = moment
            drift["ordinal"] = first + index
            drift["bucket"] = bucket_of(first + index)


def backfill(drifts: Collection[Any]) -> int:
    """Once per database: ordinals for drifts stored before they existed. Returns how many were given."""
    marks = counters(drifts)
    if marks.find_one({"_id": BACKFILL_MARKER}) is not None:
        return 0
    given = 0
    if drifts.estimated_document_count():
        older: dict[ObjectId, list[ObjectId]] = {}
        cursor = drifts.find({"ordinal": {"$exists": False}}, {"experiment": 1}).sort(
            [("experiment", ASCENDING), ("create_time", ASCENDING), ("_id", ASCENDING)]
        )
        for doc in cursor:
            older.setdefault(doc["experiment"], []).append(doc["_id"])
        for experiment, ids in older.items():
            for index, drift_id in enumerate(ids):
                ordinal = index - len(ids)  # -n .. -1: below every ordinal handed out from the counter
                drifts.update_one({"_id": drift_id}, {"$set": {"ordinal": ordinal, "bucket": bucket_of(ordinal)}})
            marks.update_one({"_id": _key(experiment)}, {"$min": {"low": -len(ids)}, "$max": {"high": 0}}, upsert=True)
            given += len(ids)
    try:
        marks.insert_one({"_id": BACKFILL_MARKER, "time": now(), "drifts": given})
    except DuplicateKeyError:
        pass  # another process finished it too
    return given


def page(drifts: Collection[Any], query: dict[str, Any], before: tuple[int, ObjectId] | None, want: int) -> list[dict[str, Any]]:
    """Up to `want` drifts matching query (which names the experiment), newest first, strictly before
    (ordinal, _id) `before`: the default order's walk (listing.Walk)."""
    low, high = bounds(drifts, query["experiment"])
    top = before[0] if before is not None else high
    cursor: dict[str, Any] = {}
    if before is not None:
        ordinal, last_id = before
        cursor = {"$or": [{"ordinal": {"$lt": ordinal}}, {"ordinal": ordinal, "_id": {"$lt": last_id}}]}
    found: list[dict[str, Any]] = []
    for bucket in range(bucket_of(top), bucket_of(low) - 1, -1):
        if len(found) >= want:
            break
        batch = drifts.find(conjoin(query, {"bucket": bucket}, cursor)).sort([("ordinal", -1), ("_id", -1)]).limit(want - len(found))
        found += list(batch)
    return found
