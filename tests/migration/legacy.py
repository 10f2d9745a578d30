"""An original Drift Watch database, written in the shapes its Flask backend stored (app/schemas.py and
app/blueprints/*.py of m-team-kit/drift-watch-backend): uuid string ids, naive local ISO times from
datetime.now().isoformat(), permissions as [{entity, level}] or the older {entity: level}, and one drift
collection per experiment holding schema 1.1 (drift_detected, parameters) or 1.0 (concept_drift/data_drift).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

ENTITLEMENT = "urn:mace:egi.eu:group:vo.example.eu:role=member#aai.egi.eu"


def _id() -> str:
    return str(uuid.uuid4())


@dataclass
class Legacy:
    """What was written, so tests can compare the import with it."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # by persona
    experiments: dict[str, dict[str, Any]] = field(default_factory=dict)  # by role in the test
    drifts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by experiment role


def user(issuer: str, subject: str, created_at: str) -> dict[str, Any]:
    return {"_id": _id(), "subject": subject, "issuer": issuer, "email": f"{subject}@example.org", "created_at": created_at}


def build(db: Any, issuer: str, taken_name: str) -> Legacy:
    """The fixture database: mappable records of every shape, plus one of each kind that cannot be mapped."""
    legacy = Legacy()
    legacy.users["manager"] = user(issuer, "manager", "2023-11-02T08:00:00.250000")
    legacy.users["reader"] = user(issuer, "reader", "2023-11-03T09:30:00")
    broken_user = {"_id": _id(), "issuer": issuer, "email": "nobody@example.org", "created_at": "2023-11-04T00:00:00"}
    db["app.users"].insert_many([*legacy.users.values(), broken_user])
    manager, reader = legacy.users["manager"]["_id"], legacy.users["reader"]["_id"]

    legacy.experiments["current"] = {  # schema 1.1 permissions: a list of {entity, level}
        "_id": _id(), "name": f"legacy-current-{uuid.uuid4().hex[:6]}", "description": "weekly churn check", "public": False,
        "permissions": [{"entity": manager, "level": "Manage"}, {"entity": reader, "level": "Read"},
                        {"entity": ENTITLEMENT, "level": "Edit"}, {"entity": "someone", "level": "Owner"}],
        "created_at": "2024-03-05T10:15:30.123456",
    }
    legacy.experiments["older"] = {  # the first backend: permissions as {entity: level}, public
        "_id": _id(), "name": f"legacy-older-{uuid.uuid4().hex[:6]}", "public": True,
        "permissions": {manager: "Manage"}, "created_at": "2024-01-10T12:00:00",
    }
    legacy.experiments["unowned"] = {  # shared with a group only: no user to own it
        "_id": _id(), "name": f"legacy-unowned-{uuid.uuid4().hex[:6]}", "public": False,
        "permissions": [{"entity": ENTITLEMENT, "level": "Manage"}], "created_at": "2024-02-01T00:00:00",
    }
    legacy.experiments["clash"] = {  # its name is taken on the new server
        "_id": _id(), "name": taken_name, "public": False, "permissions": [], "created_at": "2024-02-02T00:00:00",
    }
    db["app.experiments"].insert_many(list(legacy.experiments.values()))

    current = [
        {"_id": _id(), "job_status": "Completed", "model": "churn-v3", "drift_detected": True, "tags": ["prod", "weekly"],
         "parameters": {"method": "ks", "p_value": 0.003, "threshold": 0.05, "features": ["age", "tenure"], "window": {"days": 7}},
         "schema_version": "1.1.0", "created_at": "2024-03-06T07:00:00.500000"},
        {"_id": _id(), "job_status": "Running", "model": "churn-v3", "drift_detected": False, "parameters": {},
         "tags": [], "schema_version": "1.1.0", "created_at": "2024-03-07T07:00:00"},
        {"_id": _id(), "job_status": "Failed", "model": "churn-v4", "drift_detected": False, "parameters": {"error": "OOM"},
         "tags": ["canary"], "schema_version": "1.1.0", "created_at": "2024-03-08T07:00:00"},
    ]
    unmappable = [
        {"_id": _id(), "job_status": "Queued", "model": "churn-v3", "drift_detected": False, "created_at": "2024-03-09T07:00:00"},
        # Refused by the server (models are 1-256 characters): dropped from its batch, the rest still imported.
        # (NaN and nested lists, which MongoDB could hold, cannot be stored in FerretDB: tests/unit covers them.)
        {"_id": _id(), "job_status": "Completed", "model": "m" * 300, "drift_detected": True, "parameters": {"p_value": 0.5},
         "created_at": "2024-03-09T09:00:00"},
        {"_id": _id(), "job_status": "Completed", "model": "churn-v3", "drift_detected": False},
    ]
    legacy.drifts["current"] = current
    db[f"app.{legacy.experiments['current']['_id']}"].insert_many(current + unmappable)

    older = [
        {"_id": _id(), "job_status": "Completed", "model": "model_1", "schema_version": "1.0.0", "created_at": "2024-01-11T06:00:00",
         "concept_drift": {"drift": True, "parameters": {"accuracy_drop": 0.12}}, "data_drift": {"drift": False, "parameters": {}}},
        {"_id": _id(), "job_status": "Completed", "model": "model_1", "schema_version": "1.0.0", "created_at": "2024-01-12T06:00:00",
         "concept_drift": {"drift": False, "parameters": {}}, "data_drift": {"drift": True, "parameters": {"psi": 0.31, "bins": 10}}},
    ]
    legacy.drifts["older"] = older
    db[f"app.{legacy.experiments['older']['_id']}"].insert_many(older)
    legacy.drifts["unowned"] = [{"_id": _id(), "job_status": "Completed", "model": "m", "drift_detected": False, "created_at": "2024-02-01T01:00:00"}]
    db[f"app.{legacy.experiments['unowned']['_id']}"].insert_many(legacy.drifts["unowned"])
    db[f"app.{legacy.experiments['clash']['_id']}"].insert_one(
        {"_id": _id(), "job_status": "Completed", "model": "m", "drift_detected": False, "created_at": "2024-02-02T01:00:00"}
    )
    return legacy


def snapshot(db: Any) -> dict[str, list[dict[str, Any]]]:
    """Every document of the new server's database, in a stable order: equal snapshots = nothing changed."""
    return {name: sorted(db[name].find(), key=lambda d: str(d["_id"])) for name in sorted(db.list_collection_names())}
