"""Alert rules: from request messages to stored documents (every problem INVALID_ARGUMENT naming the
field) and back, without secrets. Limits are in docs/alerts.md and the README's limits table."""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from google.protobuf import duration_pb2

from drift_monitoring.v1 import alert_pb2
from server import validation
from server.alerts import net
from server.errors import invalid
from server.settings import Settings

MAX_RULES_PER_EXPERIMENT = 100
MAX_URL = 2048
MAX_FILTER = 1024
MAX_FEATURES = 100
MAX_RECIPIENTS = 20
MAX_N = 1000
TIMED = ("drift_rate", "no_run")  # conditions that change with time alone, without any run changing
SECOND, MINUTE, HOUR, DAY = 1000, 60_000, 3_600_000, 86_400_000
DEFAULT_REPEAT_MS = 4 * HOUR
GROUP_FIELDS = ("model",)
KINDS = {alert_pb2.DRIFT_KIND_ANY: "ANY", alert_pb2.DRIFT_KIND_CONCEPT: "CONCEPT", alert_pb2.DRIFT_KIND_DATA: "DATA", alert_pb2.DRIFT_KIND_RESULT: "RESULT"}
KIND_NUMBERS = {name: number for number, name in KINDS.items()}
MASK_PATHS = ("display_name", "disabled", "condition", "filter", "pending_duration", "repeat_interval", "group_by", "channel")
ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
STATES = {"INACTIVE": alert_pb2.ALERT_STATE_INACTIVE, "PENDING": alert_pb2.ALERT_STATE_PENDING, "FIRING": alert_pb2.ALERT_STATE_FIRING}


def duration_ms(field: str, value: duration_pb2.Duration, low: int, high: int) -> int:
    total = value.seconds * 1000 + value.nanos // 1_000_000
    if value.nanos % 1_000_000 or not low <= total <= high:
        raise invalid(field, f"must be whole milliseconds from {low / 1000:g} s to {high / 1000:g} s")
    return total


def _kind(field: str, value: int) -> str:
    return "ANY" if value == 0 else validation.enum_value(field, value, KINDS)


def condition_from_proto(field: str, given: alert_pb2.AlertCondition) -> dict[str, Any]:
    which = given.WhichOneof("kind")
    if which is None:
        raise invalid(field, "is required: one of drift_detected, feature_detected, k_of_n, drift_rate, run_failed, run_lost, no_run")
    where = f"{field}.{which}"
    part = getattr(given, which)
    out: dict[str, Any] = {"type": which}
    if which == "drift_detected":
        out["kind"] = _kind(f"{where}.kind", part.kind)
    elif which == "feature_detected":
        names = list(dict.fromkeys(part.features))
        if not 1 <= len(names) <= MAX_FEATURES:
            raise invalid(f"{where}.features", f"name 1-{MAX_FEATURES} features, got {len(names)}")
        for index, name in enumerate(names):
            validation.text(f"{where}.features[{index}]", name, low=1, high=validation.MAX_KEY)
        out.update(features=names, kind=_kind(f"{where}.kind", part.kind))
    elif which == "k_of_n":
        if not 1 <= part.n <= MAX_N:
            raise invalid(f"{where}.n", f"must be 1-{MAX_N}")
        if not 1 <= part.k <= part.n:
            raise invalid(f"{where}.k", "must be from 1 to n")
        out.update(k=part.k, n=part.n, kind=_kind(f"{where}.kind", part.kind))
    elif which == "drift_rate":
        window = duration_ms(f"{where}.window", part.window, SECOND, 30 * DAY)
        if not 0 < validation.finite(f"{where}.threshold", part.threshold) <= 1:
            raise invalid(f"{where}.threshold", "must be above 0 and at most 1")
        if not 0 <= part.min_runs <= MAX_N:
            raise invalid(f"{where}.min_runs", f"must be 0-{MAX_N}")
        out.update(window_ms=window, threshold=part.threshold, min_runs=part.min_runs or 1, kind=_kind(f"{where}.kind", part.kind))
    elif which == "no_run":
        out["period_ms"] = duration_ms(f"{where}.period", part.period, SECOND, 30 * DAY)
    return out


def check_url(field: str, url: str, settings: Settings) -> str:
    if not url:
        raise invalid(field, "is required")
    if len(url) > MAX_URL:
        raise invalid(field, f"must be at most {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise invalid(field, "is not a URL") from None
    schemes = ("https", "http") if settings.alert_allow_http else ("https",)
    if parts.scheme not in schemes:
        raise invalid(field, "must be an https:// URL" if not settings.alert_allow_http else "must be an http(s):// URL")
    if not parts.hostname:
        raise invalid(field, "has no host")
    if parts.username is not None or parts.password is not None:
        raise invalid(field, "must not carry a user name or password")
    if any(ord(ch) <= 32 or ch == "\x7f" for ch in url):
        raise invalid(field, "must not contain spaces or control characters")
    try:  # a literal address is checked now too (names are checked when connecting: they may change)
        ipaddress.ip_address(parts.hostname)
    except ValueError:
        return url
    if net.refused_address(parts.hostname, settings.alert_allow_networks):
        raise invalid(field, "points at a loopback, private, link-local or metadata address")
    return url


def channel_from_proto(field: str, given: alert_pb2.AlertChannel, settings: Settings) -> dict[str, Any]:
    which = given.WhichOneof("kind")
    if which is None:
        raise invalid(field, "is required: one of webhook, slack, email")
    where = f"{field}.{which}"
    if which in ("webhook", "slack"):
        return {"type": which, "url": check_url(f"{where}.url", getattr(given, which).url, settings)}
    to = list(dict.fromkeys(given.email.to))
    if not 1 <= len(to) <= MAX_RECIPIENTS:
        raise invalid(f"{where}.to", f"name 1-{MAX_RECIPIENTS} addresses, got {len(to)}")
    for index, address in enumerate(to):
        if len(address) > 254 or not ADDRESS.match(address):
            raise invalid(f"{where}.to[{index}]", "is not an email address")
    if not settings.smtp_host:
        raise invalid(f"{where}", "email is not configured on this server (DRIFT_MONITOR_SMTP_HOST)")
    return {"type": "email", "to": to}


def fields_from_proto(prefix: str, rule: alert_pb2.AlertRule, paths: tuple[str, ...] | list[str], settings: Settings) -> dict[str, Any]:
    """The stored values of the given paths of an AlertRule message (validated, in the stored shape)."""
    from server.services.common import compile_user_filter  # noqa: PLC0415 - services import this module
    from server.services.drifts import FILTER_FIELDS, FILTER_PREFIXES  # noqa: PLC0415

    out: dict[str, Any] = {}
    for path in paths:
        where = f"{prefix}.{path}"
        if path == "display_name":
            out["display_name"] = validation.text(where, rule.display_name, low=1, high=validation.MAX_NAME)
        elif path == "disabled":
            out["disabled"] = rule.disabled
        elif path == "condition":
            out["condition"] = condition_from_proto(where, rule.condition)
            out["timed"] = out["condition"]["type"] in TIMED
        elif path == "filter":
            text = validation.text(where, rule.filter, low=0, high=MAX_FILTER)
            try:
                compile_user_filter(text, FILTER_FIELDS, FILTER_PREFIXES)
            except Exception as exc:  # noqa: BLE001 - its message, under this field's name
                raise invalid(where, str(exc).removeprefix("filter: ")) from None
            out["filter"] = text
        elif path == "pending_duration":
            out["pending_ms"] = duration_ms(where, rule.pending_duration, 0, DAY)
        elif path == "repeat_interval":
            out["repeat_ms"] = duration_ms(where, rule.repeat_interval, SECOND, 7 * DAY) if rule.HasField("repeat_interval") else DEFAULT_REPEAT_MS
        elif path == "group_by":
            names = list(dict.fromkeys(rule.group_by))
            for index, name in enumerate(names):
                if name not in GROUP_FIELDS:
                    raise invalid(f"{where}[{index}]", f"unknown field {name[:64]!r}; allowed: {', '.join(GROUP_FIELDS)}")
            out["group_by"] = names
        elif path == "channel":
            out["channel"] = channel_from_proto(where, rule.channel, settings)
    return out


def _redacted_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…"


def _duration(target: duration_pb2.Duration, ms: int) -> None:
    target.FromMilliseconds(ms)


def condition_to_proto(target: alert_pb2.AlertCondition, stored: dict[str, Any]) -> None:
    which = stored["type"]
    part = getattr(target, which)
    part.SetInParent()
    if "kind" in stored:
        part.kind = KIND_NUMBERS[stored["kind"]]
    if which == "feature_detected":
        part.features.extend(stored["features"])
    elif which == "k_of_n":
        part.k, part.n = stored["k"], stored["n"]
    elif which == "drift_rate":
        _duration(part.window, stored["window_ms"])
        part.threshold, part.min_runs = stored["threshold"], stored["min_runs"]
    elif which == "no_run":
        _duration(part.period, stored["period_ms"])


def rule_to_proto(doc: dict[str, Any], state: str = "INACTIVE", secret: str = "") -> alert_pb2.AlertRule:
    """A rule as callers see it: never a secret (except `secret`, given only by Create), Slack URLs redacted."""
    rule = alert_pb2.AlertRule(
        id=str(doc["_id"]), experiment_id=str(doc["experiment"]), display_name=doc["display_name"], disabled=doc.get("disabled", False),
        filter=doc.get("filter", ""), group_by=doc.get("group_by", []), state=STATES.get(state, alert_pb2.ALERT_STATE_INACTIVE),
    )
    condition_to_proto(rule.condition, doc["condition"])
    _duration(rule.pending_duration, doc.get("pending_ms", 0))
    _duration(rule.repeat_interval, doc["repeat_ms"])
    channel = doc["channel"]
    if channel["type"] == "webhook":
        rule.channel.webhook.url = channel["url"]
        rule.channel.webhook.secret = secret
    elif channel["type"] == "slack":
        rule.channel.slack.url = _redacted_url(channel["url"])
    else:
        rule.channel.email.to.extend(channel["to"])
    for name in ("create_time", "update_time"):
        moment: datetime = doc[name]
        getattr(rule, name).FromDatetime(moment)
    return rule


def current_secrets(doc: dict[str, Any], moment: datetime) -> list[str]:
    """The secrets that sign now: the current one and any rotated-away one still in its overlap."""
    return [s["secret"] for s in doc.get("secrets") or () if s.get("expire_time") is None or s["expire_time"] > moment]


def current_secrets_docs(doc: dict[str, Any], moment: datetime) -> list[dict[str, Any]]:
    return [s for s in doc.get("secrets") or () if s.get("expire_time") is None or s["expire_time"] > moment]
