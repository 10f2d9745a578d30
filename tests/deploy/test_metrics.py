"""Prometheus metrics: a real server process with DRIFT_MONITOR_METRICS_LISTEN set, real RPCs, a real scrape.

The process is this test's own, so every count is exactly what the test did. Envoy's /stats/prometheus
is scraped through the session's Envoy after calls through it. The Grafana dashboards may only query
metrics that one of the two scrapes shows.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
from pathlib import Path

import grpc
import httpx
import pymongo
import pytest
from prometheus_client.parser import text_string_to_metric_families

from grpc_health.v1 import health_pb2, health_pb2_grpc

from drift_monitoring.v1 import drift_pb2, drift_pb2_grpc, experiment_pb2, experiment_pb2_grpc, user_pb2, user_pb2_grpc
from sandbox import personas
from stack import ROOT, SECRET, Server, free_port

DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(url, timeout=5).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    """The sum over series of `name` whose labels include `labels` (0 when none)."""
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


@pytest.fixture(scope="module")
def metered(mongo_base: str):
    name = f"dm_metrics_{uuid.uuid4().hex[:8]}"
    listen = f"127.0.0.1:{free_port()}"
    process = Server(f"{mongo_base}/{name}", DRIFT_MONITOR_METRICS_LISTEN=listen)
    yield process, f"http://{listen}/metrics"
    process.stop()
    pymongo.MongoClient(mongo_base).drop_database(name)


def listening_ports(pid: int) -> set[int]:
    """TCP ports the process listens on, from /proc: its socket inodes matched against LISTEN sockets."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def test_metrics_are_off_unless_configured(server, metered) -> None:
    assert listening_ports(server.process.pid) == {server.port}  # the session server: gRPC only
    process, url = metered
    assert listening_ports(process.process.pid) == {process.port, int(url.rsplit(":", 1)[1].split("/")[0])}


@pytest.fixture(scope="module")
def exercised(metered):
    """RPCs of every kind the metrics describe, made once; returns the scrape URL and the experiment id."""
    process, url = metered
    metadata = personas.gateway_metadata(SECRET, personas.claims("manager"))
    with grpc.insecure_channel(process.target) as channel:
        users = user_pb2_grpc.UserServiceStub(channel)
        experiments = experiment_pb2_grpc.ExperimentServiceStub(channel)
        drifts = drift_pb2_grpc.DriftServiceStub(channel)
        users.RegisterUser(user_pb2.RegisterUserRequest(accept_terms=True), metadata=metadata)
        experiment = experiments.CreateExperiment(
            experiment_pb2.CreateExperimentRequest(experiment=experiment_pb2.Experiment(name=f"metrics-{uuid.uuid4().hex[:6]}")), metadata=metadata
        )
        for _ in range(3):  # a client retrying, or syncing its spool: one drift, two replays
            first = drifts.CreateDrift(drift_pb2.CreateDriftRequest(experiment_id=experiment.id, drift=drift_pb2.Drift(model="m"), request_id="run-1"), metadata=metadata)
        batch = [drift_pb2.CreateDriftRequest(drift=drift_pb2.Drift(model="m"), request_id=r) for r in ("run-1", "run-2", "run-3")]
        drifts.BatchCreateDrifts(drift_pb2.BatchCreateDriftsRequest(experiment_id=experiment.id, requests=batch), metadata=metadata)
        for _ in range(2):
            with pytest.raises(grpc.RpcError) as missing:
                experiments.GetExperiment(experiment_pb2.GetExperimentRequest(experiment_id="0" * 24), metadata=metadata)
            assert missing.value.code() == grpc.StatusCode.NOT_FOUND

        # grpc's health Watch is a coroutine writing with context.write, not an async generator.
        health = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest())
        assert next(health).status == health_pb2.HealthCheckResponse.SERVING
        health.cancel()

        # A watcher is counted while its stream is open.
        stream = drifts.WatchDrifts(drift_pb2.WatchDriftsRequest(experiment_id=experiment.id), metadata=metadata)
        events: list[drift_pb2.WatchDriftsResponse] = []

        def read() -> None:
            try:
                events.extend(stream)
            except grpc.RpcError:  # cancelled below
                pass

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        deadline = time.monotonic() + 10
        while value(scrape(url), "drift_monitor_watchers") != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert value(scrape(url), "drift_monitor_watchers") == 1

        done = drift_pb2.Drift(id=first.id, experiment_id=experiment.id, status=drift_pb2.DRIFT_STATUS_COMPLETED)
        done.data_drift.detected = True
        drifts.UpdateDrift(drift_pb2.UpdateDriftRequest(drift=done, update_mask={"paths": ["status", "data_drift"]}), metadata=metadata)
        deadline = time.monotonic() + 10
        while not any(e.type == drift_pb2.DRIFT_EVENT_TYPE_UPDATED for e in events) and time.monotonic() < deadline:
            time.sleep(0.05)
        stream.cancel()
        reader.join(5)
    assert any(e.type == drift_pb2.DRIFT_EVENT_TYPE_UPDATED for e in events)
    return url, experiment.id


def test_scrape_shows_the_rpcs_this_test_made(exercised) -> None:
    url, experiment_id = exercised
    handled = "drift_monitor_grpc_handled_total"
    deadline = time.monotonic() + 10  # the server notices the cancelled stream a moment later
    while value(samples := scrape(url), handled, method="WatchDrifts") == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert value(samples, handled, service="UserService", method="RegisterUser", code="OK") == 1
    assert value(samples, handled, service="ExperimentService", method="CreateExperiment", code="OK") == 1
    assert value(samples, handled, service="DriftService", method="CreateDrift", code="OK") == 3
    assert value(samples, handled, service="DriftService", method="BatchCreateDrifts", code="OK") == 1
    assert value(samples, handled, service="ExperimentService", method="GetExperiment", code="NOT_FOUND") == 2
    assert value(samples, handled, service="DriftService", method="UpdateDrift", code="OK") == 1
    assert value(samples, handled, service="DriftService", method="WatchDrifts", code="CANCELLED") == 1
    assert value(samples, "drift_monitor_grpc_handling_seconds_count", method="CreateDrift", code="OK") == 3
    assert value(samples, handled, service="Health", method="Watch", code="CANCELLED") == 1  # written with context.write
    assert value(samples, "drift_monitor_grpc_handling_seconds_count", method="GetExperiment", code="NOT_FOUND") == 2

    creates = "drift_monitor_idempotent_creates_total"
    assert value(samples, creates, method="CreateDrift", outcome="created") == 1
    assert value(samples, creates, method="CreateDrift", outcome="replayed") == 2
    assert value(samples, creates, method="BatchCreateDrifts", outcome="created") == 2
    assert value(samples, creates, method="BatchCreateDrifts", outcome="replayed") == 1

    assert value(samples, "drift_monitor_watchers") == 0
    assert value(samples, "drift_monitor_event_log_position") >= 4  # three created + one updated, all handed over
    assert value(samples, "drift_monitor_event_log_lag_seconds_count") >= 1
    assert value(samples, "drift_monitor_db_seconds_count", outcome="ok") > 10
    assert value(samples, "drift_monitor_db_wait_seconds_count") >= value(samples, "drift_monitor_db_seconds_count")

    assert value(samples, "drift_monitor_runs_created_total", experiment=experiment_id) == 3
    assert value(samples, "drift_monitor_runs_finished_total", experiment=experiment_id, status="COMPLETED", drift="true") == 1


def test_envoy_exports_prometheus_stats_of_the_calls_through_it(envoy, channel, issuer) -> None:
    admin = f"http://127.0.0.1:{envoy.admin_port}/stats/prometheus"
    name = "envoy_cluster_upstream_rq_total"
    before = value(scrape(admin), name, envoy_cluster_name="backend_grpc")
    stub = experiment_pb2_grpc.ExperimentServiceStub(channel)
    for _ in range(3):
        stub.ListExperiments(experiment_pb2.ListExperimentsRequest(), metadata=[("authorization", f"Bearer {issuer.token('reader')}")])
    assert value(scrape(admin), name, envoy_cluster_name="backend_grpc") >= before + 3


def _exported(url: str) -> set[str]:
    """Series names as the exposition text spells them (the parser renames some counters)."""
    return {m[1] for m in re.finditer(r"(?m)^([a-zA-Z_:][a-zA-Z0-9_:]*)[ {]", httpx.get(url, timeout=5).text)}


def _dashboard_metrics() -> set[str]:
    names: set[str] = set()
    for path in DASHBOARDS.glob("*.json"):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                expr = re.sub(r"\bby \([^)]*\)", "", target["expr"])  # label names, not metrics
                names |= set(re.findall(r"\b((?:drift_monitor|envoy)_[a-z_]+)\b(?!\s*(?:=|!=|=~|!~))", expr))
    return names


def test_dashboards_query_only_metrics_that_exist(exercised, envoy) -> None:
    url, _ = exercised
    exported = _exported(url) | _exported(f"http://127.0.0.1:{envoy.admin_port}/stats/prometheus")
    # Histograms are queried by their _bucket/_count/_sum series; all three are in the scrape.
    used = _dashboard_metrics()
    assert len(used) >= 8
    assert used <= exported, f"dashboards query metrics nobody exports: {sorted(used - exported)}"
