"""Run leases and the status state machine (docs/leases.md).

A job that opts in gives its run a lease_duration; its client renews the lease (RenewDriftLease) while
the job lives. Every server process runs a LeaseSweeper: it finds RUNNING drifts whose lease expired and moves
each to LOST with a write conditional on the lease it read (drift and expiry), and only the process whose
write succeeded appends the event. No lock, no leader: a renewal that lands first makes the sweep miss.

The condition is a unique key, not only an update filter: FerretDB v1 evaluates an update's filter and
applies its change as two steps, so two processes' `update_one({status: RUNNING, lease_expire_time: T})`
can both match (tests/reliability/test_leases.py saw it happen). Inserting the claim
`{_id: "<drift>@<expiry>"}` is atomic everywhere; the update after it stays conditional, so a renewal
that came in between still wins. Claims are pruned after CLAIM_RETENTION, long after any sweep that read
the same lease has finished.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import grpc
from google.protobuf import duration_pb2
from pymongo.errors import PyMongoError

from server import metrics, models
from server.db import Database, is_duplicate, now
from server.errors import ApiError, invalid
from server.events import UPDATED, EventLog

log = logging.getLogger(__name__)

MIN_LEASE_MS = 1_000
MAX_LEASE_MS = 24 * 3600 * 1000
SWEEP_BATCH = 500
CLAIM_RETENTION = timedelta(hours=1)
PRUNE_EVERY = 100  # sweeps between deletions of old claims
TERMINAL = frozenset({"COMPLETED", "FAILED"})
# status -> the statuses an UpdateDrift may move it to (besides itself, always allowed: replays).
TRANSITIONS: Mapping[str, frozenset[str]] = {
    "RUNNING": frozenset({"COMPLETED", "FAILED"}),
    "LOST": frozenset({"RUNNING", "COMPLETED", "FAILED"}),
    # A finished run never runs again; either verdict may be corrected to the other (as before leases).
    "COMPLETED": frozenset({"FAILED"}),
    "FAILED": frozenset({"COMPLETED"}),
}


def lease_ms(field: str, value: duration_pb2.Duration) -> int:
    """A lease_duration as whole milliseconds, within the documented bounds."""
    total = value.seconds * 1000 + value.nanos // 1_000_000
    if value.nanos % 1_000_000 or not MIN_LEASE_MS <= total <= MAX_LEASE_MS:
        raise invalid(field, f"must be whole milliseconds from {MIN_LEASE_MS // 1000} s to {MAX_LEASE_MS // 3_600_000} h")
    return total


def expiry(moment: datetime, duration_ms: int) -> datetime:
    return moment + timedelta(milliseconds=duration_ms)


def wrong_status(current: str, action: str) -> ApiError:
    return ApiError(
        grpc.StatusCode.FAILED_PRECONDITION, "DRIFT_STATUS_CONFLICT", f"the drift is {current}; it cannot {action}"
    )


def contended() -> ApiError:
    """The drift's status kept changing under the update (other writers); retrying is safe."""
    return ApiError(grpc.StatusCode.ABORTED, "DRIFT_CHANGED", "the drift changed during the update; retry")


def check_transition(current: str, target: str) -> None:
    """Raise unless UpdateDrift may move a drift from `current` to `target`."""
    if target == current:
        return
    if target == "LOST":
        raise invalid("drift.status", "LOST is set only by the server, when a run's lease expires")
    if target not in TRANSITIONS.get(current, frozenset()):
        raise wrong_status(current, f"become {target}")


def status_changes(current: Mapping[str, Any], target: str, moment: datetime) -> dict[str, Any]:
    """What else changes with the status: the lease runs only while RUNNING; a status the job reports
    replaces the reason the server gave."""
    if target == current.get("status"):
        return {}
    # Only fields the run has are cleared: a run without a lease stores no lease fields at all.
    changes: dict[str, Any] = {"status_reason": ""} if current.get("status_reason") else {}
    duration = current.get("lease_duration_ms")
    if target == "RUNNING":
        changes["end_time"] = None
        if duration:
            changes["lease_expire_time"] = expiry(moment, duration)
    elif current.get("lease_expire_time") is not None:
        changes["lease_expire_time"] = None
    return changes


def _seconds(duration_ms: int) -> str:
    return f"{duration_ms / 1000:g} s"


class LeaseSweeper:
    """Moves RUNNING drifts whose lease expired to LOST, every `interval` seconds, in this process."""

    def __init__(self, db: Database, events: EventLog, collection: Callable[[], Any], claims: Callable[[], Any], interval: float) -> None:
        self._db = db
        self._events = events
        self._collection = collection
        self._claims = claims
        self._interval = interval
        self._passes = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="lease-sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self._db.run(self.sweep)
            except Exception:  # noqa: BLE001 - a failed pass (database away) is retried on the next one
                log.exception("lease sweep failed; retrying")

    def sweep(self) -> int:
        """Blocking: one pass; returns how many drifts this process moved to LOST."""
        moment = now()
        self._passes += 1
        if self._passes % PRUNE_EVERY == 0:
            self._claims().delete_many({"time": {"$lt": moment - CLAIM_RETENTION}})
        expired = self._collection().find(
            {"status": "RUNNING", "lease_expire_time": {"$lte": moment}},
            {"_id": 1, "lease_expire_time": 1},
            limit=SWEEP_BATCH,
        )
        return sum(self._expire(doc["_id"], doc["lease_expire_time"]) for doc in list(expired))

    def _expire(self, drift_id: Any, expired_at: datetime) -> bool:
        with self._events.drift_lock(drift_id):
            current = self._collection().find_one({"_id": drift_id})
            if current is None or current.get("status") != "RUNNING" or current.get("lease_expire_time") != expired_at:
                return False  # renewed, finished or deleted since the query
            try:
                self._claims().insert_one({"_id": f"{drift_id}@{expired_at.isoformat()}", "time": now()})
            except PyMongoError as exc:
                if is_duplicate(exc):
                    return False  # another process performs this transition
                raise
            changes = {
                "status": "LOST",
                "end_time": expired_at,
                "lease_expire_time": None,
                "status_reason": f"no heartbeat from the job for {_seconds(current['lease_duration_ms'])}: "
                f"its lease expired at {expired_at.isoformat(timespec='milliseconds').replace('+00:00', 'Z')}",
                "update_time": now(),
            }
            models.conform(models.Drift, {**current, **changes})
            won = self._collection().update_one(
                {"_id": drift_id, "status": "RUNNING", "lease_expire_time": expired_at}, {"$set": changes}
            ).modified_count
            if won:
                self._events.append(current["experiment"], UPDATED, {**current, **changes})
                metrics.run_lost(current["experiment"])
        return bool(won)
