"""Client settings: from keyword arguments, else the environment (read when asked, never at import)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from drift_monitoring.errors import ConfigurationError


def _default_spool() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "drift-monitor"


@dataclass(frozen=True, kw_only=True)
class Settings:
    # host:port of the Drift Monitoring edge (an https:// prefix is accepted and ignored: always TLS).
    url: str
    # A plain OIDC access token, or a MyToken plus the MyToken server that exchanges it.
    token: str = field(default="", repr=False)
    mytoken: str = field(default="", repr=False)
    mytoken_server: str = ""
    # PEM file with the CA that signed the server's certificate (private CAs, the dev CA).
    ca_bundle: str = ""
    # Upper bound, in seconds, on how long one monitor call may hold up the job.
    timeout: float = 10.0
    # Seconds between lease renewals of a running run; the server marks a run LOST after three missed
    # ones. 0 = no lease (the run is never marked LOST).
    heartbeat: float = 30.0
    # Where results wait when the server cannot be reached, and where rotated MyTokens are kept.
    state_dir: Path = field(default_factory=_default_spool)

    @property
    def target(self) -> str:
        return self.url.removeprefix("https://").rstrip("/")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, object] = {
            "url": env.get("DRIFT_MONITOR_URL", ""),
            "token": env.get("DRIFT_MONITOR_TOKEN", ""),
            "mytoken": env.get("DRIFT_MONITOR_MYTOKEN", ""),
            "mytoken_server": env.get("MYTOKEN_SERVER", ""),
            "ca_bundle": env.get("DRIFT_MONITOR_CA_BUNDLE", ""),
        }
        if env.get("DRIFT_MONITOR_TIMEOUT"):
            try:
                values["timeout"] = float(env["DRIFT_MONITOR_TIMEOUT"])
            except ValueError:
                raise ConfigurationError(f"DRIFT_MONITOR_TIMEOUT must be seconds, got {env['DRIFT_MONITOR_TIMEOUT']!r}") from None
        if env.get("DRIFT_MONITOR_HEARTBEAT"):
            try:
                values["heartbeat"] = float(env["DRIFT_MONITOR_HEARTBEAT"])
            except ValueError:
                raise ConfigurationError(f"DRIFT_MONITOR_HEARTBEAT must be seconds, got {env['DRIFT_MONITOR_HEARTBEAT']!r}") from None
        if env.get("DRIFT_MONITOR_STATE_DIR"):
            values["state_dir"] = Path(env["DRIFT_MONITOR_STATE_DIR"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["state_dir"] = Path(values["state_dir"]) if "state_dir" in values else _default_spool()
        values["timeout"] = float(values.get("timeout", cls.timeout))  # type: ignore[arg-type]
        values["heartbeat"] = float(values.get("heartbeat", cls.heartbeat))  # type: ignore[arg-type]
        settings = cls(**values)  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        if not self.url:
            raise ConfigurationError("set DRIFT_MONITOR_URL (or url=) to the server, e.g. drift.example.org:443")
        if self.mytoken and not self.mytoken_server:
            raise ConfigurationError("DRIFT_MONITOR_MYTOKEN needs MYTOKEN_SERVER, e.g. https://mytoken.data.kit.edu")
        if self.timeout <= 0:
            raise ConfigurationError("DRIFT_MONITOR_TIMEOUT must be positive")
        if self.heartbeat < 0 or 0 < self.heartbeat < 1 / 3 or self.heartbeat > 28800:
            raise ConfigurationError("DRIFT_MONITOR_HEARTBEAT must be 0 (no lease) or 1/3 to 28800 seconds (the lease, 3 beats, is 1 s to 24 h)")
