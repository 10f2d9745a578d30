"""Generate the provisioned Grafana dashboards: `python deploy/grafana/dashboards.py` (--check: fail when stale).

Dashboards are written from the panel lists below, so a query is reviewed as one line of PromQL, not
as a screen of JSON; tests/deploy checks every metric they query against a real scrape.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
INGRESS = 'envoy_http_conn_manager_prefix="ingress_https"'
BACKEND = 'envoy_cluster_name="backend_grpc"'
EXPERIMENT = 'experiment=~"$experiment"'

# (title, unit, kind, [(PromQL, legend)]); panels flow two to a row.
SERVICE = [
    ("RPCs per second by method", "reqps", "timeseries", [("sum by (service, method) (rate(drift_monitor_grpc_handled_total[5m]))", "{{service}}/{{method}}")]),
    ("Errors per second by method and code", "reqps", "timeseries",
     [('sum by (method, code) (rate(drift_monitor_grpc_handled_total{code!="OK"}[5m]))', "{{method}} {{code}}")]),
    ("Latency p50 / p99 (unary calls)", "s", "timeseries", [
        ('histogram_quantile(0.5, sum by (le, method) (rate(drift_monitor_grpc_handling_seconds_bucket{method!="WatchDrifts"}[5m])))', "p50 {{method}}"),
        ('histogram_quantile(0.99, sum by (le, method) (rate(drift_monitor_grpc_handling_seconds_bucket{method!="WatchDrifts"}[5m])))', "p99 {{method}}"),
    ]),
    ("Active watchers", "short", "timeseries", [("sum(drift_monitor_watchers)", "watchers")]),
    ("Event-log lag p99 (write to watchers)", "s", "timeseries",
     [("histogram_quantile(0.99, sum by (le) (rate(drift_monitor_event_log_lag_seconds_bucket[5m])))", "p99")]),
    ("Idempotent creates (replayed = spool sync or retry)", "ops", "timeseries",
     [("sum by (method, outcome) (rate(drift_monitor_idempotent_creates_total[5m]))", "{{method}} {{outcome}}")]),
    ("Database call time p99 by operation", "s", "timeseries",
     [("histogram_quantile(0.99, sum by (le, operation) (rate(drift_monitor_db_seconds_bucket[5m])))", "{{operation}}")]),
    ("Database pool wait p99", "s", "timeseries", [("histogram_quantile(0.99, sum by (le) (rate(drift_monitor_db_wait_seconds_bucket[5m])))", "wait p99")]),
    ("Envoy: requests per second by response class", "reqps", "timeseries",
     [(f"sum by (envoy_response_code_class) (rate(envoy_http_downstream_rq_xx{{{INGRESS}}}[5m]))", "{{envoy_response_code_class}}xx")]),
    ("Envoy: backend latency p99", "ms", "timeseries",
     [(f"histogram_quantile(0.99, sum by (le) (rate(envoy_cluster_upstream_rq_time_bucket{{{BACKEND}}}[5m])))", "p99")]),
    ("Envoy: open client connections", "short", "timeseries", [(f"sum(envoy_http_downstream_cx_active{{{INGRESS}}})", "connections")]),
    ("Envoy: healthy backends", "short", "stat", [(f"sum(envoy_cluster_membership_healthy{{{BACKEND}}})", "healthy")]),
]
DRIFT = [
    ("Runs per hour by experiment", "short", "timeseries",
     [(f"sum by (experiment) (increase(drift_monitor_runs_created_total{{{EXPERIMENT}}}[1h]))", "{{experiment}}")]),
    ("Drift rate by experiment (finished runs with drift, last 24 h)", "percentunit", "timeseries", [(
        f'sum by (experiment) (increase(drift_monitor_runs_finished_total{{{EXPERIMENT}, drift="true"}}[24h]))'
        f" / sum by (experiment) (increase(drift_monitor_runs_finished_total{{{EXPERIMENT}}}[24h]))",
        "{{experiment}}",
    )]),
    ("Failed runs per hour by experiment", "short", "timeseries",
     [(f'sum by (experiment) (increase(drift_monitor_runs_finished_total{{{EXPERIMENT}, status="FAILED"}}[1h]))', "{{experiment}}")]),
    ("Runs in the last 24 h", "short", "stat", [(f"sum(increase(drift_monitor_runs_created_total{{{EXPERIMENT}}}[24h]))", "runs")]),
]


def _panel(index: int, title: str, unit: str, kind: str, queries: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "id": index + 1,
        "type": kind,
        "title": title,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": expr, "legendFormat": legend} for i, (expr, legend) in enumerate(queries)],
    }


def dashboard(uid: str, title: str, panels: list, variables: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "tags": ["drift-monitoring"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-24h", "to": "now"},
        "templating": {"list": variables},
        "panels": [_panel(i, *p) for i, p in enumerate(panels)],
    }


def render() -> dict[str, str]:
    experiment = {
        "name": "experiment", "label": "Experiment id", "type": "query", "datasource": DATASOURCE,
        "query": {"query": "label_values(drift_monitor_runs_created_total, experiment)", "refId": "experiments"},
        "definition": "label_values(drift_monitor_runs_created_total, experiment)",
        "includeAll": True, "multi": True, "allValue": ".*", "refresh": 2, "current": {"text": "All", "value": "$__all"},
    }
    boards = {
        "service.json": dashboard("drift-monitoring-service", "Drift Monitoring: service", SERVICE, []),
        "drift.json": dashboard("drift-monitoring-drift", "Drift Monitoring: drift", DRIFT, [experiment]),
    }
    return {name: json.dumps(board, indent=1) + "\n" for name, board in boards.items()}


def main() -> int:
    stale = [name for name, text in render().items() if not (OUT / name).exists() or (OUT / name).read_text() != text]
    if sys.argv[1:] == ["--check"]:
        for name in stale:
            print(f"deploy/grafana/dashboards/{name} is stale: run python deploy/grafana/dashboards.py", file=sys.stderr)
        return 1 if stale else 0
    OUT.mkdir(exist_ok=True)
    for name, text in render().items():
        (OUT / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
