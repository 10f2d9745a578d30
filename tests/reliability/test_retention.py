"""Retention (issue 18 item 3, docs/data.md): per experiment, runs older than N days and beyond the newest
N are deleted by the housekeeping sweep in every server process, each deletion once (two real server
processes on one database), watchers hear of each, a metric counts them; deleting an experiment leaves no
document anywhere in the database that refers to it or its runs.

The module's stack sweeps every 0.2 s.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from bson import ObjectId

from drift_monitoring import Client
from drift_monitoring.errors import InvalidArgumentError, PermissionDeniedError
from drift_monitoring.v1 import audit_pb2, audit_pb2_grpc, drift_pb2, experiment_pb2, imports_pb2, imports_pb2_grpc
from stack import Server, Stack, free_port

SWEEP = "0.2"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, ca_pem: Path) -> Iterator[Stack]:
    own = Stack(tmp_path_factory.mktemp("retention"), ca_pem=ca_pem, private_database=True,
                DRIFT_MONITOR_SWEEP_SECONDS=SWEEP, DRIFT_MONITOR_METRICS_LISTEN=f"127.0.0.1:{free_port()}")
    for persona in ("manager", "editor", "admin", "outsider"):
        with own.client(persona) as client:
            client.register()
    yield own
    own.stop()


@pytest.fixture
def client(stack: Stack) -> Iterator[Client]:
    with stack.client(heartbeat=0) as own:
        yield own


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def new_experiment(client: Client) -> experiment_pb2.Experiment:
    return client.new_experiment(f"retention-{uuid.uuid4().hex[:8]}", "retention tests")


def create_runs(client: Client, experiment_id: str, count: int, model: str = "m") -> list[str]:
    ids: list[str] = []
    for start in range(0, count, 500):
        requests = [drift_pb2.CreateDriftRequest(drift=drift_pb2.Drift(model=model, status=drift_pb2.DRIFT_STATUS_COMPLETED),
                                                 request_id=uuid.uuid4().hex) for _ in range(min(500, count - start))]
        batch = drift_pb2.BatchCreateDriftsRequest(experiment_id=experiment_id, requests=requests)
        ids += [d.id for d in client.call(client.drifts.BatchCreateDrifts, batch).drifts]
    return ids


def set_retention(client: Client, experiment_id: str, days: int = 0, runs: int = 0) -> experiment_pb2.Experiment:
    given = experiment_pb2.Experiment(id=experiment_id, retention_days=days, retention_runs=runs)
    return client.update_experiment(given, ["retention_days", "retention_runs"])


def expired_metric(port: str, experiment_id: str, reason: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    found = re.search(rf'^drift_monitor_runs_expired_total\{{experiment="{experiment_id}",reason="{reason}"\}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def metrics_port(server: Server) -> str:
    return server.env["DRIFT_MONITOR_METRICS_LISTEN"].rsplit(":", 1)[1]


class Watch:
    """WatchDrifts through Envoy in a thread; every non-heartbeat event it got."""

    def __init__(self, stack: Stack, experiment_id: str) -> None:
        self.client = stack.client(heartbeat=0)
        self.events: list[drift_pb2.WatchDriftsResponse] = []
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._read, args=(experiment_id,), daemon=True)
        self.thread.start()
        assert self.ready.wait(20), "the watch stream never said it was live"

    def _read(self, experiment_id: str) -> None:
        try:
            for event in self.client.watch_drifts(experiment_id):
                self.ready.set()
                if event.type != drift_pb2.DRIFT_EVENT_TYPE_HEARTBEAT:
                    self.events.append(event)
        except Exception:  # noqa: BLE001 - closed by the test
            pass

    def deleted(self) -> list[str]:
        return [e.drift.id for e in list(self.events) if e.type == drift_pb2.DRIFT_EVENT_TYPE_DELETED]

    def close(self) -> None:
        self.client.close()


def test_only_managers_set_retention_and_bad_values_name_the_field(stack, client):
    experiment = new_experiment(client)
    create_runs(client, experiment.id, 3)
    for given, field in ((dict(days=-1), "experiment.retention_days"), (dict(days=36_501), "experiment.retention_days"),
                         (dict(runs=-5), "experiment.retention_runs"), (dict(runs=100_000_001), "experiment.retention_runs")):
        with pytest.raises(InvalidArgumentError) as bad:
            set_retention(client, experiment.id, **given)
        assert bad.value.field == field, given
    with stack.client("editor") as editor:
        grants = [experiment_pb2.Grant(entity=editor.me().id, level=experiment_pb2.ACCESS_LEVEL_EDIT)]
        client.update_experiment(experiment_pb2.Experiment(id=experiment.id, grants=grants), ["grants"])
        with pytest.raises(PermissionDeniedError):
            set_retention(editor, experiment.id, runs=1)
        assert editor.call(editor.experiments.GetExperiment, experiment_pb2.GetExperimentRequest(experiment_id=experiment.id)).retention_runs == 0
    time.sleep(1)  # several sweeps: nothing was set, nothing goes
    assert len(list(client.list_drifts(experiment.id))) == 3

    updated = set_retention(client, experiment.id, days=30, runs=1000)
    assert (updated.retention_days, updated.retention_runs) == (30, 1000)
    stub = audit_pb2_grpc.AuditServiceStub(client._channel)
    entries = client.call(stub.ListAuditEvents, audit_pb2.ListAuditEventsRequest(experiment_id=experiment.id, filter='action = "experiment.retention"'))
    [entry] = entries.audit_events
    assert dict(entry.before) == {"retention_days": 0, "retention_runs": 0} and dict(entry.after) == {"retention_days": 30, "retention_runs": 1000}
    set_retention(client, experiment.id)  # cleared again: kept forever


def test_the_newest_runs_stay_and_watchers_get_each_deletion(stack, client):
    experiment = new_experiment(client)
    ids = create_runs(client, experiment.id, 1250)
    port = metrics_port(stack.server)
    watch = Watch(stack, experiment.id)
    try:
        set_retention(client, experiment.id, runs=100)
        wait_for(lambda: len(watch.deleted()) >= 1150, "1150 DELETED events", timeout=60)
        left = [d.id for d in client.list_drifts(experiment.id)]
        assert left == list(reversed(ids[-100:]))  # the newest 100, newest first
        time.sleep(1)
        assert sorted(watch.deleted()) == sorted(ids[:-100])  # each deleted run once, none of the kept
        assert expired_metric(port, experiment.id, "count") == 1150
        more = create_runs(client, experiment.id, 30)
        wait_for(lambda: len(watch.deleted()) == 1180, "the next 30 oldest deleted")
        assert [d.id for d in client.list_drifts(experiment.id)] == list(reversed((ids + more)[-100:]))
    finally:
        watch.close()
    stub = audit_pb2_grpc.AuditServiceStub(client._channel)
    entries = client.call(stub.ListAuditEvents, audit_pb2.ListAuditEventsRequest(experiment_id=experiment.id, filter='action = "drifts.expire"'))
    assert sum(dict(e.after)["deleted_by_count"] for e in entries.audit_events) == 1180
    assert all(e.actor_name == "retention sweep" for e in entries.audit_events)


def test_runs_older_than_the_limit_go_whenever_they_were_recorded(stack, client):
    """Age is create_time: runs imported with old times go though they were stored last."""
    experiment = new_experiment(client)
    recent = create_runs(client, experiment.id, 5, model="recent")
    port = metrics_port(stack.server)
    with stack.client("admin") as admin:
        imports = imports_pb2_grpc.ImportServiceStub(admin._channel)
        old = []
        for index, age in enumerate((40, 31, 29)):
            item = imports_pb2.ImportedDrift(legacy_id=f"old-{index}", drift=drift_pb2.Drift(model=f"aged-{age}", status=drift_pb2.DRIFT_STATUS_COMPLETED))
            item.create_time.FromDatetime(datetime.now(UTC) - timedelta(days=age))
            old.append(item)
        admin.call(imports.ImportDrifts, imports_pb2.ImportDriftsRequest(experiment_id=experiment.id, drifts=old))
    set_retention(client, experiment.id, days=30)
    wait_for(lambda: {d.model for d in client.list_drifts(experiment.id)} == {"recent", "aged-29"}, "the runs older than 30 days deleted")
    assert len(list(client.list_drifts(experiment.id))) == len(recent) + 1
    assert expired_metric(port, experiment.id, "age") == 2


def test_two_servers_delete_each_run_exactly_once(stack, client):
    second = Server(stack.database_uri, stack.directory / "second", DRIFT_MONITOR_TRUSTED_ISSUERS=stack.issuer.url,
                    DRIFT_MONITOR_SWEEP_SECONDS=SWEEP, DRIFT_MONITOR_METRICS_LISTEN=f"127.0.0.1:{free_port()}")
    try:
        experiments = [new_experiment(client) for _ in range(2)]
        ids = {e.id: create_runs(client, e.id, 2000) for e in experiments}
        for experiment in experiments:
            set_retention(client, experiment.id, runs=10)
        db = stack.db()
        for experiment in experiments:
            oid = ObjectId(experiment.id)
            wait_for(lambda oid=oid: db.drifts.count_documents({"experiment": oid}) == 10, "10 runs left", timeout=120)
        time.sleep(1)  # any late duplicate would be written by now
        for experiment in experiments:
            deleted = Counter(str(e["drift_id"]) for e in db.events.find({"experiment": ObjectId(experiment.id), "type": "DELETED"}, {"drift_id": 1}))
            assert set(deleted) == set(ids[experiment.id][:-10])
            assert set(deleted.values()) == {1}, f"DELETED events per run: {sorted(Counter(deleted.values()).items())}"
            by_process = [expired_metric(metrics_port(server), experiment.id, "count") for server in (stack.server, second)]
            assert sum(by_process) == 1990, by_process
            print(f"deletions by process: {by_process}")
            left = {d.id for d in client.list_drifts(experiment.id)}
            assert left == set(ids[experiment.id][-10:])
        assert db.lease_claims.count_documents({}) == 0  # every claim dropped after its deletion
    finally:
        second.stop()


def _references(value: Any, wanted: set[Any]) -> bool:
    if isinstance(value, dict):
        return any(_references(v, wanted) or _references(k, wanted) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_references(v, wanted) for v in value)
    if isinstance(value, str):
        return any(w in value for w in wanted if isinstance(w, str))
    return value in wanted


def test_deleting_an_experiment_leaves_no_orphans(stack, client):
    """Every document of every collection is searched for the experiment's id and its runs' ids (as ids
    and as text). What may remain: its EXPERIMENT_DELETED event (watchers behind learn of the deletion; it
    goes with the log) and its audit entries (history, kept by design), marked experiment_deleted."""
    experiment = new_experiment(client)
    other = new_experiment(client)
    ids = create_runs(client, experiment.id, 250)
    create_runs(client, other.id, 5)
    client.delete_drift(experiment.id, ids[0])
    client.update_experiment(experiment_pb2.Experiment(id=experiment.id, public=True), ["public"])
    set_retention(client, experiment.id, runs=200)
    db = stack.db()
    wait_for(lambda: db.drifts.count_documents({"experiment": ObjectId(experiment.id)}) == 200, "retention applied")
    watch = Watch(stack, experiment.id)
    try:
        client.delete_experiment(experiment.id)
        wait_for(lambda: not watch.thread.is_alive(), "the watch stream ended")
    finally:
        watch.close()

    wanted: set[Any] = {ObjectId(experiment.id), experiment.id, *ids, *map(ObjectId, ids)}
    left: dict[str, list[dict[str, Any]]] = {}
    for name in db.list_collection_names():
        found = [doc for doc in db[name].find({}) if _references(doc, wanted)]
        if found:
            left[name] = found
    events = left.pop("events", [])
    assert [(e["type"], e["drift"]) for e in events] == [("EXPERIMENT_DELETED", {})], events[:3]
    entries = left.pop("audit_events", [])
    assert {e["action"] for e in entries} >= {"experiment.sharing", "experiment.retention", "drift.delete", "experiment.delete"}
    assert all(e["experiment_deleted"] for e in entries)
    assert not left, {name: docs[:2] for name, docs in left.items()}
    # The other experiment is untouched; admins still read the deleted one's entries.
    assert len(list(client.list_drifts(other.id))) == 5
    with stack.client("admin") as admin:
        stub = audit_pb2_grpc.AuditServiceStub(admin._channel)
        kept = admin.call(stub.ListAuditEvents, audit_pb2.ListAuditEventsRequest(experiment_id=experiment.id)).audit_events
        assert kept and all(e.experiment_deleted for e in kept)
