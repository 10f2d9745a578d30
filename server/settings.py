"""Server settings, read once from the environment at start-up (never at import time)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    mongodb_uri: str = "mongodb://127.0.0.1:27017/drift_monitoring"
    listen: str = "127.0.0.1:50051"
    # Shared with Envoy: only requests carrying it are trusted to hold verified identity headers.
    proxy_secret: str
    admin_entitlements: frozenset[str] = frozenset()
    # Which issuer may assert which entitlements: issuer URL -> patterns ("urn:x:*" a prefix, else exact).
    # Empty: every issuer Envoy trusts may assert any (one issuer). Others' entitlements are ignored.
    entitlement_issuers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Dotted path of the entitlements claim in the verified token (EGI Check-in, Keycloak, ...).
    entitlements_claim: str = "eduperson_entitlement"
    # Issuers whose UserInfo endpoint may be asked for entitlements missing from a token.
    trusted_issuers: frozenset[str] = frozenset()
    ca_bundle: str = ""
    db_threads: int = 16
    heartbeat_seconds: float = 15.0
    event_poll_seconds: float = 0.2
    # Events buffered per watcher; one that falls further behind re-reads the log instead of stalling others.
    watch_queue_size: int = 1024
    # Events kept for resuming watches; older ones are deleted (a resume from before them is refused).
    event_retention: int = 100_000
    # Open watch streams re-read their experiment's permissions at least this often (changes made through
    # the API reach them at once through the event log; this catches any other).
    watch_recheck_seconds: float = 60.0
    grace_seconds: float = 10.0
    # Open WatchDrifts streams one user (or one anonymous address) may hold on this process.
    max_watches_per_user: int = 32
    # Signs page and resume tokens; defaults to a key derived from the proxy secret.
    token_secret: bytes = b""
    # How often this process looks for RUNNING drifts whose lease expired (each process does; one wins).
    lease_sweep_seconds: float = 10.0
    # host:port of the Prometheus /metrics endpoint; empty = not served.
    metrics_listen: str = ""
    # FerretDB's PostgreSQL, where server/ferretdb_indexes.py makes the GIN indexes FerretDB cannot; empty = none.
    ferretdb_postgresql_url: str = ""
    # Audit entries older than this many days are deleted; 0 keeps them forever (independent of drift retention).
    audit_retention_days: int = 0
    # How often each process sweeps (expired audit entries, runs past their experiment's retention).
    sweep_seconds: float = 60.0
    # Alerts (docs/alerts.md): how often every rule is re-evaluated besides right after its runs change.
    alert_eval_seconds: float = 5.0
    # Networks webhook and Slack targets may resolve to although loopback/private/link-local/metadata
    # (e.g. "127.0.0.0/8,10.1.0.0/16"); empty: none of them.
    alert_allow_networks: tuple[str, ...] = ()
    # Let webhook/Slack targets be http:// (a local receiver); https only by default.
    alert_allow_http: bool = False
    alert_ca_bundle: str = ""
    alert_timeout_seconds: float = 10.0
    # A notification not delivered within this long after it was made is recorded FAILED.
    alert_give_up_seconds: float = 6 * 3600.0
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = ""

    def __post_init__(self) -> None:
        if not self.token_secret:
            derived = hashlib.sha256(b"drift-monitoring page tokens\0" + self.proxy_secret.encode()).digest()
            object.__setattr__(self, "token_secret", derived)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        secret = env.get("DRIFT_MONITOR_PROXY_SECRET", "")
        if len(secret) < 16:
            raise SettingsError("DRIFT_MONITOR_PROXY_SECRET must be set to a secret of at least 16 characters")
        return cls(
            mongodb_uri=env.get("MONGODB_URI", cls.mongodb_uri),
            listen=env.get("DRIFT_MONITOR_LISTEN", cls.listen),
            proxy_secret=secret,
            admin_entitlements=frozenset(
                e.strip() for e in env.get("DRIFT_MONITOR_ADMIN_ENTITLEMENTS", "").split(",") if e.strip()
            ),
            entitlements_claim=env.get("DRIFT_MONITOR_ENTITLEMENTS_CLAIM", cls.entitlements_claim),
            entitlement_issuers=_entitlement_issuers(env.get("DRIFT_MONITOR_ENTITLEMENT_ISSUERS", "")),
            trusted_issuers=frozenset(
                i.strip() for i in env.get("DRIFT_MONITOR_TRUSTED_ISSUERS", "").split(",") if i.strip()
            ),
            ca_bundle=env.get("DRIFT_MONITOR_CA_BUNDLE", ""),
            db_threads=_number(env, "DRIFT_MONITOR_DB_THREADS", cls.db_threads, int, 1, 256),
            heartbeat_seconds=_number(env, "DRIFT_MONITOR_HEARTBEAT_SECONDS", cls.heartbeat_seconds, float, 0.1, 3600),
            event_poll_seconds=_number(env, "DRIFT_MONITOR_EVENT_POLL_SECONDS", cls.event_poll_seconds, float, 0.01, 60),
            watch_queue_size=_number(env, "DRIFT_MONITOR_WATCH_QUEUE", cls.watch_queue_size, int, 1, 1_000_000),
            event_retention=_number(env, "DRIFT_MONITOR_EVENT_RETENTION", cls.event_retention, int, 100, 1_000_000_000),
            watch_recheck_seconds=_number(env, "DRIFT_MONITOR_WATCH_RECHECK_SECONDS", cls.watch_recheck_seconds, float, 0.1, 3600),
            grace_seconds=_number(env, "DRIFT_MONITOR_GRACE_SECONDS", cls.grace_seconds, float, 0, 600),
            max_watches_per_user=_number(env, "DRIFT_MONITOR_MAX_WATCHES_PER_USER", cls.max_watches_per_user, int, 1, 100_000),
            token_secret=env.get("DRIFT_MONITOR_TOKEN_SECRET", "").encode(),
            metrics_listen=env.get("DRIFT_MONITOR_METRICS_LISTEN", ""),
            lease_sweep_seconds=_number(env, "DRIFT_MONITOR_LEASE_SWEEP_SECONDS", cls.lease_sweep_seconds, float, 0.05, 3600),
            ferretdb_postgresql_url=env.get("DRIFT_MONITOR_FERRETDB_POSTGRESQL_URL", ""),
            audit_retention_days=_number(env, "DRIFT_MONITOR_AUDIT_RETENTION_DAYS", cls.audit_retention_days, int, 0, 36_500),
            sweep_seconds=_number(env, "DRIFT_MONITOR_SWEEP_SECONDS", cls.sweep_seconds, float, 0.1, 86_400),
            alert_eval_seconds=_number(env, "DRIFT_MONITOR_ALERT_EVAL_SECONDS", cls.alert_eval_seconds, float, 0.05, 3600),
            alert_allow_networks=_networks(env.get("DRIFT_MONITOR_ALERT_ALLOW_NETWORKS", "")),
            alert_allow_http=env.get("DRIFT_MONITOR_ALERT_ALLOW_HTTP", "") in ("1", "true", "yes"),
            alert_ca_bundle=env.get("DRIFT_MONITOR_ALERT_CA_BUNDLE", ""),
            alert_timeout_seconds=_number(env, "DRIFT_MONITOR_ALERT_TIMEOUT_SECONDS", cls.alert_timeout_seconds, float, 0.1, 120),
            alert_give_up_seconds=_number(env, "DRIFT_MONITOR_ALERT_GIVE_UP_SECONDS", cls.alert_give_up_seconds, float, 1, 7 * 86_400),
            smtp_host=env.get("DRIFT_MONITOR_SMTP_HOST", ""),
            smtp_port=_number(env, "DRIFT_MONITOR_SMTP_PORT", cls.smtp_port, int, 1, 65_535),
            smtp_username=env.get("DRIFT_MONITOR_SMTP_USERNAME", ""),
            smtp_password=env.get("DRIFT_MONITOR_SMTP_PASSWORD", ""),
            smtp_from=env.get("DRIFT_MONITOR_SMTP_FROM", ""),
        )


def _networks(raw: str) -> tuple[str, ...]:
    import ipaddress  # noqa: PLC0415 - only to validate

    out = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            out.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise SettingsError(f"DRIFT_MONITOR_ALERT_ALLOW_NETWORKS: {item!r} is not a network such as 127.0.0.0/8") from None
    return tuple(out)


def _entitlement_issuers(raw: str) -> dict[str, tuple[str, ...]]:
    name = "DRIFT_MONITOR_ENTITLEMENT_ISSUERS"
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise SettingsError(f'{name} must be a JSON object such as {{"https://issuer": ["urn:group:*"]}}') from None
    if not isinstance(value, dict) or not all(
        isinstance(issuer, str) and issuer and isinstance(patterns, list) and all(isinstance(p, str) and p for p in patterns)
        for issuer, patterns in value.items()
    ):
        raise SettingsError(f"{name} must map each issuer URL to a list of entitlement patterns (non-empty strings)")
    return {issuer: tuple(patterns) for issuer, patterns in value.items()}


T = TypeVar("T", int, float)


def _number(env: Mapping[str, str], name: str, default: T, kind: type[T], low: T, high: T) -> T:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a {kind.__name__}, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {raw!r}")
    return value
