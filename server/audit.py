"""The audit trail: who changed an experiment's sharing, deleted something, or acted as admin, and when.

Entries are appended by the server only (record() runs in the database pool) and never changed or
deleted through the API. They outlive what they describe: deleting an experiment keeps its entries
(with the experiment's id and name as text), and drift retention never touches them; only
DRIFT_MONITOR_AUDIT_RETENTION_DAYS (0 = forever, the default) removes old ones.

Other modules call record(); before/after are small plain documents (the fields that changed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bson import ObjectId

from server.db import now
from server.identity import Caller
from server.models import AuditEvent


def _collection() -> Any:
    return AuditEvent._get_collection()


def record(
    actor: Caller,
    action: str,
    *,
    experiment: Mapping[str, Any] | ObjectId | None = None,
    target: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Append one entry (blocking). `experiment` is the stored experiment document or its id."""
    if isinstance(experiment, Mapping):
        experiment_id, experiment_name = experiment.get("_id"), experiment.get("name", "")
    else:
        experiment_id, experiment_name = experiment, ""
    doc = {
        "_id": ObjectId(),
        "time": now(),
        "actor_id": actor.user_id or "",
        "actor_name": actor.name or actor.email or actor.subject,
        "action": action,
        "experiment": experiment_id,
        "experiment_name": experiment_name,
        "target": target,
        "before": dict(before) if before is not None else None,
        "after": dict(after) if after is not None else None,
    }
    _collection().insert_one(doc)
    return doc
