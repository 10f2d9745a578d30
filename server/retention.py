"""Drift retention: per experiment, runs older than `retention_days` and runs beyond the newest
`retention_runs` are deleted by the housekeeping sweep (server/sweeper.py), in bounded batches, each
deletion a DELETED event for watchers and a count in drift_monitor_runs_expired.

Which runs go:
- by age: create_time before now - retention_days, oldest first ((experiment, create_time, _id) index);
- by count: ordinals (server/ordinals.py) number an experiment's runs in creation order, so the newest N
  are those with ordinal > high - N, where high is the last ordinal handed out. Older buckets are walked
  upwards from the counter's `low` ((experiment, bucket, ordinal, _id) index), and `low` is raised once
  they are empty, so a sweep costs what it deletes, not the experiment's size. A run deleted by hand does
  not let an older one back in: "the newest N" are the newest N runs created.

Several server processes sweep one database. FerretDB v1 applies a conditional write as a read and a
write, so two processes can both "delete" a run; each run is therefore claimed first with the insert of
`expire/<drift id>@<ordinal>` into lease_claims (a unique _id: exactly one insert wins, everywhere), the
winner re-reads which of its runs still exist, deletes them, appends their events, and drops its claims.
A process killed between claim and delete leaves the claim; lease_claims are pruned after an hour
(server/leases.py) and the run is deleted by the next sweep after that.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from datetime import timedelta
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING
from pymongo.errors import BulkWriteError

from server import audit, metrics, ordinals
from server.db import now
from server.events import DELETED, EventLog
from server.identity import Caller
from server.models import Drift, Experiment, LeaseClaim

log = logging.getLogger(__name__)

BATCH = 500  # runs per claim/delete round
MAX_PER_PASS = 20_000  # runs one experiment loses per sweep pass; the rest next pass (others get their turn)
SWEEPER = Caller(name="retention sweep")


def _drifts() -> Any:
    return Drift._get_collection()


def _claims() -> Any:
    return LeaseClaim._get_collection()


def experiments_with_limits() -> list[dict[str, Any]]:
    fields = {"_id": 1, "name": 1, "retention_days": 1, "retention_runs": 1}
    found: dict[ObjectId, dict[str, Any]] = {}
    for name in ("retention_days", "retention_runs"):
        for doc in Experiment._get_collection().find({name: {"$gt": 0}}, fields):
            found[doc["_id"]] = doc
    return list(found.values())


def sweep(events: EventLog) -> int:
    """One pass over every experiment with a limit (blocking); returns how many runs this process deleted."""
    total = 0
    for experiment in experiments_with_limits():
        total += sweep_experiment(events, experiment)
    return total


def sweep_experiment(events: EventLog, experiment: Mapping[str, Any]) -> int:
    removed = {"age": 0, "count": 0}
    budget = MAX_PER_PASS
    if days := int(experiment.get("retention_days") or 0):
        cutoff = now() - timedelta(days=days)
        while budget > 0:
            batch = list(_drifts().find(
                {"experiment": experiment["_id"], "create_time": {"$lt": cutoff}}, {"_id": 1, "ordinal": 1},
            ).sort([("create_time", ASCENDING), ("_id", ASCENDING)]).limit(min(BATCH, budget)))
            if not batch:
                break
            removed["age"] += delete(events, experiment["_id"], batch)
            budget -= len(batch)
    if keep := int(experiment.get("retention_runs") or 0):
        for batch in _beyond_newest(experiment["_id"], keep, budget):
            removed["count"] += delete(events, experiment["_id"], batch)
    if any(removed.values()):
        metrics.runs_expired(experiment["_id"], removed)
        audit.record(SWEEPER, "drifts.expire", experiment=experiment, after={
            "deleted_by_age": removed["age"], "deleted_by_count": removed["count"], **audit.retention(experiment)})
        log.info("retention: deleted %s runs of experiment %s", removed, experiment["_id"])
    return sum(removed.values())


def _beyond_newest(experiment: ObjectId, keep: int, budget: int) -> Iterator[list[dict[str, Any]]]:
    """Batches of runs with ordinal <= high - keep, oldest bucket first; raises the counter's low behind them."""
    low, high = ordinals.bounds(_drifts(), experiment)
    last = high - keep  # the newest ordinal that goes
    if last < low:
        return
    bucket = ordinals.bucket_of(low)
    while bucket <= ordinals.bucket_of(last) and budget > 0:
        batch = list(_drifts().find(
            {"experiment": experiment, "bucket": bucket, "ordinal": {"$lte": last}}, {"_id": 1, "ordinal": 1},
        ).sort([("ordinal", ASCENDING), ("_id", ASCENDING)]).limit(min(BATCH, budget)))
        if not batch:
            # Everything below the next bucket is gone (or being deleted by its claimer): walks start there.
            ordinals.raise_low(_drifts(), experiment, min((bucket + 1) * ordinals.BUCKET, last + 1))
            bucket += 1
            continue
        budget -= len(batch)
        yield batch


def delete(events: EventLog, experiment: ObjectId, batch: list[dict[str, Any]]) -> int:
    """Delete the runs of batch this process wins the claim of; one DELETED event each. Returns how many."""
    moment = now()
    claims = [{"_id": f"expire/{doc['_id']}@{doc.get('ordinal')}", "time": moment} for doc in batch]
    lost: set[int] = set()
    try:
        _claims().insert_many(claims, ordered=False)
    except BulkWriteError as exc:
        if any(error.get("code") != 11000 for error in exc.details.get("writeErrors", [])):
            raise
        lost = {error["index"] for error in exc.details["writeErrors"]}  # another process has these
    won = [doc for index, doc in enumerate(batch) if index not in lost]
    if not won:
        return 0
    mine = [claims[index]["_id"] for index in range(len(batch)) if index not in lost]
    try:
        with _locked(events, [doc["_id"] for doc in won]):
            # Re-read after claiming: a run another process deleted (and unclaimed) before our claim is gone.
            wanted = {doc["_id"]: doc.get("ordinal") for doc in won}
            present = [
                doc["_id"] for doc in _drifts().find({"_id": {"$in": list(wanted)}}, {"_id": 1, "ordinal": 1})
                if doc.get("ordinal") == wanted[doc["_id"]]
            ]
            if not present:
                return 0
            _drifts().delete_many({"_id": {"$in": present}})
            events.append_many(experiment, DELETED, [{"_id": drift_id, "experiment": experiment} for drift_id in present])
            return len(present)
    finally:
        _claims().delete_many({"_id": {"$in": mine}})


def _locked(events: EventLog, drift_ids: list[ObjectId]) -> ExitStack:
    """Hold the event log's per-drift locks of all these runs (in a fixed order, so no deadlock): in this
    process a concurrent update's event cannot land after the run's DELETED event."""
    stack = ExitStack()
    for lock in events.stripes_of(drift_ids):
        stack.enter_context(lock)
    return stack
