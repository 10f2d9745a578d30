"""How drifts and experiments read on screen: plain functions, no Textual, so they are cheap to test."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from drift_monitoring.v1 import alert_pb2, drift_pb2, experiment_pb2

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


# -- alert rules and firings (docs/alerts.md) -------------------------------------------------------------

UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def duration(seconds: float) -> str:
    """A duration in the largest unit it is a whole number of: 3600 -> 1h, 90 -> 90s."""
    whole = int(seconds)
    for unit, size in UNITS:
        if whole and whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{seconds:g}s"


def _kind(kind: int) -> str:
    """Which result counts as drift, when not any of them: " (concept)"."""
    if kind in (alert_pb2.DRIFT_KIND_UNSPECIFIED, alert_pb2.DRIFT_KIND_ANY):
        return ""
    return f" ({alert_pb2.DriftKind.Name(kind).removeprefix('DRIFT_KIND_').lower()})"


def condition(rule: alert_pb2.AlertRule) -> str:
    """A rule's condition in words, with its filter: "3 of the last 5 runs drifted where model = m"."""
    c = rule.condition
    which = c.WhichOneof("kind")
    if which == "drift_detected":
        text = "latest run drifted" + _kind(c.drift_detected.kind)
    elif which == "feature_detected":
        text = f"latest run drifted on {', '.join(c.feature_detected.features)}" + _kind(c.feature_detected.kind)
    elif which == "k_of_n":
        text = f"{c.k_of_n.k} of the last {c.k_of_n.n} runs drifted" + _kind(c.k_of_n.kind)
    elif which == "drift_rate":
        rate = c.drift_rate
        text = f"≥ {rate.threshold:.0%} of runs in {duration(rate.window.ToTimedelta().total_seconds())} drifted"
        text += (f" (≥ {rate.min_runs} runs)" if rate.min_runs > 1 else "") + _kind(rate.kind)
    elif which == "run_failed":
        text = "latest run failed"
    elif which == "run_lost":
        text = "latest run lost"
    elif which == "no_run":
        text = f"no run for {duration(c.no_run.period.ToTimedelta().total_seconds())}"
    else:
        text = "-"
    return f"{text} where {rule.filter}" if rule.filter else text


def channel(rule: alert_pb2.AlertRule) -> str:
    """The channel's kind and where it goes, briefly: "webhook hooks.example.org", "email (2)"."""
    ch = rule.channel
    which = ch.WhichOneof("kind")
    if which in ("webhook", "slack"):
        url = getattr(ch, which).url
        host = url.split("://", 1)[-1].split("/", 1)[0]
        return f"{which} {host}".rstrip()
    if which == "email":
        return f"email ({len(ch.email.to)})"
    return "-"


def alert_state(state: int) -> str:
    return alert_pb2.AlertState.Name(state).removeprefix("ALERT_STATE_").lower().replace("unspecified", "-")


def delivery(firing: alert_pb2.AlertFiring) -> str:
    """How the notification's delivery went: "delivered", "failed (404)", "pending, 2 attempts"."""
    status = alert_pb2.AlertDeliveryStatus.Name(firing.delivery_status).removeprefix("ALERT_DELIVERY_STATUS_").lower()
    status = status.replace("unspecified", "-")
    attempts = len(firing.attempts)
    last = firing.attempts[-1] if attempts else None
    if status == "delivered":
        return status
    if status == "failed" and last is not None:
        return f"failed ({last.status_code or last.detail or 'no answer'})"
    if status == "pending" and attempts:
        return f"pending, {attempts} attempt{'s' if attempts > 1 else ''}"
    return status
