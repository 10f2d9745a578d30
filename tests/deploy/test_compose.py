"""Every compose combination rendered by the real Docker Compose (`config`), and the rules it must keep."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.deploy.conftest import COMBINATIONS, PROD_ENV, rendered, run_compose
from stack import ROOT

APP_SERVICES = {"mongo", "backend", "web", "envoy", "backup", "prometheus", "grafana"}
ONE_SHOT = {"seed", "testing", "certbot"}  # run to completion, or share Envoy's network namespace


def published(config: dict) -> dict[str, list[dict]]:
    return {name: service["ports"] for name, service in config["services"].items() if service.get("ports")}


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_each_combination_renders(combination: str, configs) -> None:
    services = set(configs[combination]["services"])
    assert APP_SERVICES <= services
    extra = {"base": set(), "dev": {"issuer", "seed"}, "prod": {"certbot"}, "test": {"issuer", "testing"}}[combination]
    assert services == APP_SERVICES | extra


@pytest.mark.parametrize("combination", ["base", "test"])
def test_only_envoy_publishes_ports(combination: str, configs) -> None:
    assert set(published(configs[combination])) == {"envoy"}


@pytest.mark.parametrize("combination", ["dev", "prod"])
def test_other_ports_are_on_loopback_only(combination: str, configs) -> None:
    """dev: the debugger, the issuer's login page, Grafana, Prometheus; prod: Grafana for SSH tunnels."""
    ports = published(configs[combination])
    assert "envoy" in ports
    for name, entries in ports.items():
        if name != "envoy":
            assert all(entry.get("host_ip") == "127.0.0.1" for entry in entries), (name, entries)
    assert {p["target"] for p in ports["backend"]} == {5678} if combination == "dev" else "backend" not in ports


def test_prod_publishes_https_and_the_acme_challenge(configs) -> None:
    ports = {(p["published"], p["target"]) for p in configs["prod"]["services"]["envoy"]["ports"]}
    assert ports == {("443", 8443), ("80", 8080)}
    certbot = configs["prod"]["services"]["certbot"]
    assert certbot["network_mode"] == "service:envoy"  # answers on Envoy's port 80 (-> 8080), publishes nothing
    assert any(v["source"] == "/letsencrypt" and v["target"] == "/letsencrypt" for v in certbot["volumes"])
    assert any(v["source"] == "envoy-tls" for v in certbot["volumes"])  # where install-certs.sh publishes renewals


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_long_running_services_have_healthchecks(combination: str, configs) -> None:
    for name, service in configs[combination]["services"].items():
        if name not in ONE_SHOT:
            check = service.get("healthcheck", {})
            assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_start_order_waits_for_health(combination: str, configs) -> None:
    services = configs[combination]["services"]
    waits = {name: {dep: c["condition"] for dep, c in s.get("depends_on", {}).items()} for name, s in services.items()}
    assert waits["backend"]["mongo"] == "service_healthy"
    assert waits["backup"]["mongo"] == "service_healthy"
    assert waits["envoy"]["backend"] == "service_healthy"
    assert waits["envoy"]["web"] == "service_healthy"
    assert waits["grafana"]["prometheus"] == "service_healthy"
    if "testing" in services:
        assert waits["testing"] == {"mongo": "service_healthy", "envoy": "service_healthy"}


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_secrets_are_files_and_wired(combination: str, configs) -> None:
    config = configs[combination]
    expected_dir = {"dev": ROOT / "sandbox" / "secrets", "test": ROOT / "sandbox" / "secrets"}.get(combination, Path("/secrets"))
    files = {name: Path(secret["file"]) for name, secret in config["secrets"].items()}
    assert set(files) == {"app_database_password", "app_proxy_secret", "grafana_admin_password"}
    assert {f.parent for f in files.values()} == {expected_dir}
    if combination in ("dev", "test"):
        assert all(f.is_file() for f in files.values())
    for name, service in config["services"].items():
        env = service.get("environment", {})
        mounted = {s["target"] for s in service.get("secrets", [])}
        for variable, value in env.items():  # every *_FILE names a secret mounted into that service
            if variable.endswith("_FILE") and value:
                assert value in mounted, f"{name}: {variable}={value} is not a mounted secret"
        sandbox_values = {f.read_text().strip() for f in (ROOT / "sandbox" / "secrets").iterdir()}
        assert not sandbox_values & {str(v) for v in env.values()}, f"{name} has a secret value in its environment"
    services = config["services"]
    if combination == "test":  # a throwaway MongoDB without users (see compose.test.yml)
        assert "environment" not in services["mongo"] and "secrets" not in services["mongo"]
        assert all(services[n]["environment"]["MONGODB_URI"].startswith("mongodb://mongo:27017") for n in ("backend", "backup", "testing"))
    else:
        assert services["mongo"]["environment"]["MONGO_INITDB_ROOT_PASSWORD_FILE"] == "/run/secrets/app_database_password"
        for name in ("backend", "backup"):
            assert services[name]["environment"]["MONGODB_PASSWORD_FILE"] == "/run/secrets/app_database_password"
            assert "@mongo:27017/" in services[name]["environment"]["MONGODB_URI"]
    for name in ("backend", "envoy"):
        assert services[name]["environment"]["DRIFT_MONITOR_PROXY_SECRET_FILE"] == "/run/secrets/app_proxy_secret"
    assert services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana_admin_password"


def test_database_and_backups_live_in_named_volumes(configs) -> None:
    services = configs["base"]["services"]
    assert {"type": "volume", "source": "mongo-data", "target": "/data/db"}.items() <= services["mongo"]["volumes"][0].items()
    assert services["backup"]["volumes"][0]["source"] == "backups"
    assert services["backup"]["command"][:3] == ["python", "scripts/backup.py", "schedule"]


def test_prod_restarts_everything_and_requires_its_settings(configs) -> None:
    assert {name: s.get("restart") for name, s in configs["prod"]["services"].items()} == dict.fromkeys(configs["prod"]["services"], "unless-stopped")
    for missing in ("APP_DOMAIN_NAME", "LETSENCRYPT_EMAIL", "DRIFT_MONITOR_ISSUERS"):
        env = {k: v for k, v in PROD_ENV.items() if k != missing}
        done = run_compose(COMBINATIONS["prod"], "config", env=env)
        assert done.returncode != 0 and f"required variable {missing} is missing a value" in done.stderr, done.stderr


def test_dev_debugger_waits_and_can_be_told_not_to() -> None:
    assert "--wait-for-client" in rendered("dev")["services"]["backend"]["command"][-1]
    assert "--wait-for-client" not in rendered("dev", {"DEBUGPY_WAIT": ""})["services"]["backend"]["command"][-1]


def test_dev_stages_letsencrypt_staging_behind_a_profile() -> None:
    certbot = rendered("dev", {}, "acme")["services"]["certbot"]
    assert "acme-staging" in certbot["environment"]["LETSENCRYPT_SERVER"]
    assert certbot["network_mode"] == "service:envoy"


def test_env_sample_documents_every_variable_the_compose_files_read() -> None:
    used = set()
    for name in {f for files in COMBINATIONS.values() for f in files}:
        used |= set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", (ROOT / name).read_text()))
    sample = (ROOT / ".env.sample").read_text()
    documented = set(re.findall(r"(?m)^#?([A-Z_][A-Z0-9_]*)=", sample))
    assert used - documented == set(), f".env.sample lacks {sorted(used - documented)}"
    assert documented - used == set(), f".env.sample has variables nothing reads: {sorted(documented - used)}"
    # The sample is a working prod .env.
    done = run_compose(COMBINATIONS["prod"], "config", "--quiet", env_file=ROOT / ".env.sample")
    assert done.returncode == 0, done.stderr


def test_prometheus_scrapes_what_the_services_expose(configs) -> None:
    services = configs["base"]["services"]
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())["scrape_configs"]
    targets = {job["job_name"]: job["static_configs"][0]["targets"][0] for job in scrape}
    assert targets["backend"] == f"backend:{services['backend']['environment']['DRIFT_MONITOR_METRICS_LISTEN'].rsplit(':', 1)[1]}"
    assert targets["envoy"] == f"envoy:{services['envoy']['environment']['DRIFT_MONITOR_EDGE_STATS_PORT']}"
    for job, target in targets.items():
        host, port = target.split(":")
        assert port in services[host]["expose"], f"{job}: {host} does not expose {port}"


@pytest.mark.parametrize("command", [["docker/lock.py", "--check"], ["deploy/grafana/dashboards.py", "--check"]])
def test_generated_files_are_fresh(command: list[str]) -> None:
    done = subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
