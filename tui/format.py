"""How drifts and experiments read on screen: plain functions, no Textual, so they are cheap to test."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from drift_monitoring.v1 import drift_pb2, experiment_pb2

RESULTS = ("concept_drift", "data_drift", "result")


# Runs with a final verdict: not RUNNING, and not LOST (the job may still complete it).
FINISHED = frozenset({drift_pb2.DRIFT_STATUS_COMPLETED, drift_pb2.DRIFT_STATUS_FAILED})


def status(drift: drift_pb2.Drift) -> str:
    return drift_pb2.DriftStatus.Name(drift.status).removeprefix("DRIFT_STATUS_")


def access(experiment: experiment_pb2.Experiment) -> str:
    return experiment_pb2.AccessLevel.Name(experiment.caller_access).removeprefix("ACCESS_LEVEL_").lower().replace("unspecified", "-")


def when(drift: drift_pb2.Drift) -> dt.datetime:
    """A run's time: when it started, as the job said, else when the server stored it."""
    stamp = drift.start_time if drift.HasField("start_time") else drift.create_time
    return stamp.ToDatetime(dt.timezone.utc)


TIME_FIELDS = {"start_time": "Started", "create_time": "Created", "update_time": "Updated"}


def moment(drift: drift_pb2.Drift, field: str) -> dt.datetime | None:
    """One of a run's TIME_FIELDS (start_time falls back as `when` does)."""
    if field == "start_time":
        return when(drift)
    return getattr(drift, field).ToDatetime(dt.timezone.utc) if drift.HasField(field) else None


def stamp(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def verdict(drift: drift_pb2.Drift, field: str) -> str:
    if not drift.HasField(field):
        return "·"
    return "DRIFT" if getattr(drift, field).detected else "ok"


def detected(drift: drift_pb2.Drift) -> bool:
    return any(drift.HasField(f) and getattr(drift, f).detected for f in RESULTS)


def plain(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def tidy(value: Any) -> Any:
    """protobuf Struct keeps every number as a double: show 500, not 500.0, when it is whole."""
    if isinstance(value, dict):
        return {key: tidy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [tidy(item) for item in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def pretty(value: Any) -> str:
    return json.dumps(tidy(value), indent=2, sort_keys=True, ensure_ascii=False)


FEATURE = re.compile(r"^(concept_drift|data_drift|result)\.features\[(.*)\]\.(statistic|p_value)$")
# At most this many features per run offer their statistic as a chart (a run may have 10,000).
MAX_FEATURES = 50


def parameter(drift: drift_pb2.Drift, path: str) -> float | None:
    """The number at a dotted path such as `data_drift.parameters.drifted_features`, if there is one; or
    one feature's result, `data_drift.features[age].statistic` (the web view's syntax)."""
    if match := FEATURE.match(path):
        field, name, measure = match.groups()
        for feature in getattr(drift, field).features if drift.HasField(field) else ():
            if feature.feature == name:
                return None if measure == "p_value" and not feature.HasField("p_value") else float(getattr(feature, measure))
        return None
    head, _, rest = path.partition(".")
    if head not in RESULTS or not drift.HasField(head):
        return None
    value: Any = plain(getattr(drift, head))
    for key in rest.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def parameter_paths(drift: drift_pb2.Drift) -> list[str]:
    """The numeric `*.parameters.*` paths of a run, for choosing what to chart."""
    found: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in sorted(value.items()):
                walk(f"{prefix}.{key}", item)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            found.append(prefix)

    for field in RESULTS:
        if drift.HasField(field) and getattr(drift, field).HasField("parameters"):
            walk(f"{field}.parameters", plain(getattr(drift, field).parameters))
    return found


def by_statistic(features):
    """Features with the largest statistic first (the most moved); ties, e.g. tests that give only a
    p-value, by the smallest p-value."""
    return sorted(features, key=lambda f: (-f.statistic, f.p_value if f.HasField("p_value") else 1.0, f.feature))


def feature_paths(drift: drift_pb2.Drift) -> list[str]:
    """`data_drift.features[age].statistic` for each feature of a run (the first MAX_FEATURES), to chart one
    feature's statistic over runs."""
    return [f"{field}.features[{f.feature}].statistic" for field in RESULTS if drift.HasField(field)
            for f in getattr(drift, field).features[:MAX_FEATURES]]
