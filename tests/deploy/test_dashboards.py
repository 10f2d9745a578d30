"""Grafana provisioning: every dashboard query parses as PromQL (Prometheus's own grammar, run by node),
and the provisioning files agree with compose and with each other. (That every metric a query names is
exported is checked against real scrapes in test_metrics.py.)"""

from __future__ import annotations

import json
import subprocess

import yaml

from tests.deploy.conftest import rendered
from stack import ROOT

PROMQL = ROOT / "deploy" / "promql"
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))


def check(*args: str) -> subprocess.CompletedProcess[str]:
    assert (PROMQL / "node_modules").is_dir(), "run `make test` (or npm ci --prefix deploy/promql) first"
    return subprocess.run(["node", str(PROMQL / "check.cjs"), *args], capture_output=True, text=True, timeout=60)


def test_every_dashboard_query_parses() -> None:
    done = check(*map(str, DASHBOARDS))
    total = sum(len(t) for d in DASHBOARDS for t in (p.get("targets", []) for p in json.loads(d.read_text())["panels"]))
    assert done.returncode == 0, done.stdout
    assert f"{total} of {total} queries parse" in done.stdout and total >= 15


def test_the_parser_rejects_broken_promql() -> None:
    done = check("--expr", "sum by (method (rate(drift_monitor_grpc_handled_total[5m]))", "rate(x[5m]")
    assert done.returncode == 1 and "0 of 2 queries parse" in done.stdout


def test_provisioning_matches_compose_and_the_dashboards() -> None:
    grafana = rendered("base")["services"]["grafana"]
    mounts = {v["source"]: v["target"] for v in grafana["volumes"] if v["type"] == "bind"}
    assert mounts[str(GRAFANA / "provisioning")] == "/etc/grafana/provisioning"
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "drift-monitoring.yml").read_text())["providers"][0]
    assert mounts[str(GRAFANA / "dashboards")] == provider["options"]["path"]
    assert grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"] == f"{provider['options']['path']}/service.json"
    [source] = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())["datasources"]
    assert source["url"] == "http://prometheus:9090" and "9090" in rendered("base")["services"]["prometheus"]["expose"]
    uids = {d["title"]: d["uid"] for d in map(lambda p: json.loads(p.read_text()), DASHBOARDS)}
    assert len(set(uids.values())) == len(uids) == 2
    for dashboard in DASHBOARDS:
        for panel in json.loads(dashboard.read_text())["panels"]:
            assert panel["datasource"]["uid"] == source["uid"], panel["title"]
