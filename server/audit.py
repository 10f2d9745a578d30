"""The audit trail: who changed an experiment's sharing, deleted something, imported, or acted with admin
rights, when, and the values before and after.

Entries are appended by the server only (record() runs in the database pool) and never changed or
deleted through the API. They outlive what they describe: deleting an experiment keeps its entries
(with the experiment's id and name as text), and drift retention never touches them; only
DRIFT_MONITOR_AUDIT_RETENTION_DAYS (0 = forever, the default) removes old ones (expire()).
An entry is written right after the change it records (FerretDB v1 has no transactions): a process
killed between the two loses that one entry, never invents one for a change that did not happen.

Other services call record(), e.g. for alert rules:
    audit.record(caller, "alert_rule.update", experiment=experiment_id, target=rule_id, before={...}, after={...})
before/after are small plain documents: the fields that changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId

from server.db import now
from server.identity import Caller
from server.models import AuditEvent, Experiment
from server.permissions import Level, access_level

SHARING = ("public", "grants")
EXPIRE_BATCH = 1000


def _collection() -> Any:
    return AuditEvent._get_collection()


def admin_override(experiment: Mapping[str, Any], caller: Caller, needed: Level) -> bool:
    """The caller is an admin whose own owner/grant rights on the experiment fall short of needed."""
    return caller.admin and access_level(experiment, replace(caller, admin=False)) < needed


def record(
    actor: Caller,
    action: str,
    *,
    experiment: Mapping[str, Any] | ObjectId | None = None,
    target: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    override: bool = False,
) -> dict[str, Any]:
    """Append one entry (blocking). `experiment` is the stored experiment document, or its id (then its
    current name is looked up)."""
    if isinstance(experiment, ObjectId):
        found = Experiment._get_collection().find_one({"_id": experiment}, {"name": 1}) or {"_id": experiment}
        experiment = found
    doc = {
        "_id": ObjectId(),
        "time": now(),
        "actor_id": actor.user_id or "",
        "actor_name": actor.name or actor.email or actor.subject,
        "action": action,
        "experiment": experiment.get("_id") if experiment is not None else None,
        "experiment_name": experiment.get("name", "") if experiment is not None else "",
        "target": target,
        "before": _plain(before),
        "after": _plain(after),
        "admin_override": override,
        "experiment_deleted": False,
    }
    _collection().insert_one(doc)
    return doc


def _plain(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A copy that a protobuf Struct can hold: times as RFC 3339 text, ids as strings."""
    if values is None:
        return None

    def plain(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, datetime):
            return value.isoformat().replace("+00:00", "Z")
        if isinstance(value, ObjectId):
            return str(value)
        return value

    return plain(values)


def sharing(experiment: Mapping[str, Any]) -> dict[str, Any]:
    return {"public": bool(experiment.get("public")), "grants": list(experiment.get("grants") or [])}


def retention(experiment: Mapping[str, Any]) -> dict[str, Any]:
    return {name: int(experiment.get(name) or 0) for name in ("retention_days", "retention_runs")}


def experiment_deleted(experiment: ObjectId) -> None:
    """Mark the entries of a deleted experiment (blocking): they stay, as history, and say so."""
    _collection().update_many({"experiment": experiment}, {"$set": {"experiment_deleted": True}})


def expire(days: int, moment: datetime | None = None) -> int:
    """Delete entries older than `days` in bounded batches (blocking); returns how many went.
    Safe in several processes at once: each batch deletes by _id whatever is still there."""
    if days <= 0:
        return 0
    cutoff = (moment or now()) - timedelta(days=days)
    removed = 0
    while True:
        ids = [doc["_id"] for doc in _collection().find({"time": {"$lt": cutoff}}, {"_id": 1}).sort("time", 1).limit(EXPIRE_BATCH)]
        if not ids:
            return removed
        removed += _collection().delete_many({"_id": {"$in": ids}}).deleted_count


def record_drift_delete(actor: Caller, experiment: ObjectId, drift: Mapping[str, Any]) -> dict[str, Any]:
    stored = Experiment._get_collection().find_one({"_id": experiment}) or {"_id": experiment}
    before = {name: drift.get(name) for name in ("model", "status", "tags", "creator", "create_time")}
    return record(actor, "drift.delete", experiment=stored, target=str(drift["_id"]), before=before,
                  override=admin_override(stored, actor, Level.EDIT))
