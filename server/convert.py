"""Stored documents (plain dicts as PyMongo returns them) to API messages, and drift results both ways."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from google.protobuf import timestamp_pb2

from drift_monitoring.v1 import drift_pb2, experiment_pb2, user_pb2
from server import validation
from server.errors import invalid
from server.models import Drift, User, time_fields
from server.permissions import Level

STATUS_NAMES = {
    drift_pb2.DRIFT_STATUS_RUNNING: "RUNNING",
    drift_pb2.DRIFT_STATUS_COMPLETED: "COMPLETED",
    drift_pb2.DRIFT_STATUS_FAILED: "FAILED",
    drift_pb2.DRIFT_STATUS_LOST: "LOST",
}
STATUS_NUMBERS = {name: number for number, name in STATUS_NAMES.items()}
LEVEL_NAMES = {
    experiment_pb2.ACCESS_LEVEL_READ: "READ",
    experiment_pb2.ACCESS_LEVEL_EDIT: "EDIT",
    experiment_pb2.ACCESS_LEVEL_MANAGE: "MANAGE",
}
RESULT_FIELDS = ("concept_drift", "data_drift", "result")
# The stored timestamps, from the documents (each has the API field of the same name).
DRIFT_TIMES = time_fields(Drift)
USER_TIMES = time_fields(User)


def _set_time(target: timestamp_pb2.Timestamp, value: datetime | None) -> None:
    if value is not None:
        target.FromDatetime(value)


def experiment_to_proto(doc: Mapping[str, Any], level: Level) -> experiment_pb2.Experiment:
    message = experiment_pb2.Experiment(
        id=str(doc["_id"]),
        name=doc["name"],
        description=doc.get("description", ""),
        public=doc.get("public", False),
        owner=doc["owner"],
        caller_access=int(level),
        retention_days=int(doc.get("retention_days") or 0),
        retention_runs=int(doc.get("retention_runs") or 0),
    )
    if level >= Level.MANAGE:
        message.grants.extend(
            experiment_pb2.Grant(entity=g["entity"], level=g["level"]) for g in doc.get("grants") or ()
        )
    _set_time(message.create_time, doc["create_time"])
    _set_time(message.update_time, doc["update_time"])
    return message


def grants_from_proto(field: str, grants: Any) -> list[dict[str, Any]]:
    if len(grants) > validation.MAX_GRANTS:
        raise invalid(field, f"at most {validation.MAX_GRANTS} grants")
    merged: dict[str, int] = {}
    for index, grant in enumerate(grants):
        entity = validation.text(f"{field}[{index}].entity", grant.entity, low=1, high=validation.MAX_ENTITY)
        validation.enum_value(f"{field}[{index}].level", grant.level, LEVEL_NAMES)
        merged[entity] = max(merged.get(entity, 0), grant.level)  # one grant per entity: the highest wins
    return [{"entity": entity, "level": level} for entity, level in merged.items()]


def result_from_proto(field: str, result: drift_pb2.DriftResult) -> dict[str, Any]:
    if len(result.features) > validation.MAX_FEATURES:
        raise invalid(f"{field}.features", f"at most {validation.MAX_FEATURES} features")
    features = []
    for index, feature in enumerate(result.features):
        where = f"{field}.features[{index}]"
        features.append(
            {
                "feature": validation.text(f"{where}.feature", feature.feature, low=1, high=validation.MAX_KEY),
                "test": validation.text(f"{where}.test", feature.test, low=0, high=64),
                "statistic": validation.finite(f"{where}.statistic", feature.statistic),
                "p_value": validation.finite(f"{where}.p_value", feature.p_value) if feature.HasField("p_value") else None,
                "threshold": validation.finite(f"{where}.threshold", feature.threshold) if feature.HasField("threshold") else None,
                "detected": feature.detected,
            }
        )
    return {
        "detected": result.detected,
        "parameters": validation.parameters(f"{field}.parameters", result.parameters),
        "features": features,
    }


def _result_to_proto(target: drift_pb2.DriftResult, stored: Mapping[str, Any]) -> None:
    target.detected = stored.get("detected", False)
    target.parameters.update(stored.get("parameters") or {})
    for feature in stored.get("features") or ():
        item = target.features.add(
            feature=feature["feature"], test=feature.get("test", ""), statistic=feature.get("statistic", 0.0)
        )
        item.detected = feature.get("detected", False)
        if feature.get("p_value") is not None:
            item.p_value = feature["p_value"]
        if feature.get("threshold") is not None:
            item.threshold = feature["threshold"]


def drift_to_proto(doc: Mapping[str, Any]) -> drift_pb2.Drift:
    message = drift_pb2.Drift(
        id=str(doc["_id"]),
        experiment_id=str(doc["experiment"]),
        model=doc.get("model", ""),
        status=STATUS_NUMBERS.get(doc.get("status", ""), 0),
        tags=doc.get("tags") or [],
        error_message=doc.get("error_message", ""),
        creator=doc.get("creator", ""),
        status_reason=doc.get("status_reason", ""),
    )
    if doc.get("lease_duration_ms"):
        message.lease_duration.FromMilliseconds(doc["lease_duration_ms"])
    for name in RESULT_FIELDS:
        if doc.get(name) is not None:
            _result_to_proto(getattr(message, name), doc[name])
    for name in DRIFT_TIMES:
        _set_time(getattr(message, name), doc.get(name))
    return message


def user_to_proto(doc: Mapping[str, Any], admin: bool) -> user_pb2.User:
    message = user_pb2.User(
        id=doc["_id"],
        issuer=doc["issuer"],
        subject=doc["subject"],
        name=doc.get("name", ""),
        email=doc.get("email", ""),
        entitlements=doc.get("entitlements") or [],
        admin=admin,
    )
    for name in USER_TIMES:
        _set_time(getattr(message, name), doc.get(name))
    return message
