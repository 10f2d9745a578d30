"""Runs whose job died (issue 14, docs/leases.md): real job processes heartbeat through Envoy; SIGKILLed
they become LOST, stopped and resumed they come back, and their late completion wins; runs without a
lease are never marked; with two server processes sweeping one database each expiry happens once.

The module's stack sweeps every 0.2 s and its jobs beat every 0.5 s (a 1.5 s lease), so a test waits
seconds, not minutes.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import grpc
import httpx
from bson import ObjectId
import pytest
from google.protobuf import field_mask_pb2, json_format

from drift_monitoring import Client, sync
from drift_monitoring.errors import InvalidArgumentError
from drift_monitoring.offline import spool_for
from drift_monitoring.v1 import drift_pb2
from stack import ROOT, Server, Stack, free_port

SWEEP = "0.2"
HEARTBEAT = 0.5
LEASE = 3 * HEARTBEAT
RUNNING, COMPLETED, LOST = drift_pb2.DRIFT_STATUS_RUNNING, drift_pb2.DRIFT_STATUS_COMPLETED, drift_pb2.DRIFT_STATUS_LOST

JOB = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from drift_monitoring import DriftMonitor, flush

    name, go = sys.argv[1], Path(sys.argv[2])
    with DriftMonitor(name, "job-model") as monitor:
        monitor.data(True, {"p_value": 0.01})
        flush(10)
        print("recorded", flush=True)
        while not go.exists():  # the test says when the job may finish
            time.sleep(0.05)
    flush(10)
    print("finished", flush=True)
    """
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, ca_pem: Path) -> Iterator[Stack]:
    own = Stack(
        tmp_path_factory.mktemp("leases"), ca_pem=ca_pem,
        DRIFT_MONITOR_LEASE_SWEEP_SECONDS=SWEEP, DRIFT_MONITOR_METRICS_LISTEN=f"127.0.0.1:{free_port()}",
    )
    yield own
    own.stop()


@pytest.fixture(scope="module")
def experiment(stack: Stack) -> tuple[str, str]:
    with stack.client() as client:
        client.register()
        name = f"leases-{uuid.uuid4().hex[:8]}"
        return name, client.new_experiment(name, "lease tests").id


@pytest.fixture
def client(stack: Stack) -> Iterator[Client]:
    with stack.client(heartbeat=0) as own:
        yield own


class Job:
    """A real job process: DriftMonitor through the stack's Envoy, beating every HEARTBEAT seconds."""

    def __init__(self, stack: Stack, name: str, directory: Path) -> None:
        self.go = directory / f"go-{uuid.uuid4().hex[:6]}"
        env = {
            **os.environ, "DRIFT_MONITOR_URL": stack.target, "DRIFT_MONITOR_TOKEN": stack.token("manager"),
            "DRIFT_MONITOR_CA_BUNDLE": str(stack.ca_pem), "DRIFT_MONITOR_STATE_DIR": str(directory / "job-state"),
            "DRIFT_MONITOR_HEARTBEAT": str(HEARTBEAT), "PYTHONPATH": str(ROOT),
        }
        self.process = subprocess.Popen([sys.executable, "-c", JOB, name, str(self.go)], env=env, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "recorded", "the job did not record its result"

    def finish(self) -> None:
        self.go.touch()
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "finished"
        assert self.process.wait(20) == 0

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


@pytest.fixture
def jobs(stack: Stack, experiment: tuple[str, str], tmp_path: Path) -> Iterator[Callable[[], Job]]:
    started: list[Job] = []

    def start() -> Job:
        started.append(Job(stack, experiment[0], tmp_path))
        return started[-1]

    yield start
    for job in started:
        if job.process.poll() is None:
            os.kill(job.process.pid, signal.SIGCONT)
        job.kill()


class Watch:
    """WatchDrifts through Envoy in a thread; every event it got, in order."""

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

    def statuses(self, drift_id: str) -> list[int]:
        return [e.drift.status for e in list(self.events) if e.drift.id == drift_id]

    def close(self) -> None:
        self.client.close()


def wait_for(check: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def job_drift(stack: Stack, experiment_id: str, model: str = "job-model") -> str:
    """The id of the job's run (the only run of the job model not yet found)."""
    db = stack.db()
    doc = wait_for(lambda: db.drifts.find_one({"model": model, "status": "RUNNING", "lease_duration_ms": {"$gt": 0}}, sort=[("create_time", -1)]), "the job's run")
    return str(doc["_id"])


def runs_lost(metrics_port: str, experiment_id: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
    found = re.search(rf'^drift_monitor_runs_lost_total\{{experiment="{experiment_id}"\}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def test_a_killed_job_becomes_lost_and_watchers_see_it(stack, experiment, client, jobs):
    _, experiment_id = experiment
    watch = Watch(stack, experiment_id)
    try:
        job = jobs()
        drift_id = job_drift(stack, experiment_id)
        time.sleep(3 * LEASE)  # a job that records nothing for three leases still beats: RUNNING
        alive = client.get_drift(experiment_id, drift_id)
        assert alive.status == RUNNING and alive.lease_duration.ToMilliseconds() == LEASE * 1000
        lost_before = runs_lost(stack.server.env["DRIFT_MONITOR_METRICS_LISTEN"].rsplit(":", 1)[1], experiment_id)

        job.kill()  # SIGKILL: no exit handler, no final state
        killed = time.monotonic()
        lost = wait_for(lambda: (d := client.get_drift(experiment_id, drift_id)).status == LOST and d, "LOST")
        took = time.monotonic() - killed
        assert took < LEASE + 0.2 + 2.0, f"LOST after {took:.1f} s; the lease is {LEASE} s"
        assert "lease expired" in lost.status_reason and lost.HasField("end_time") and not lost.HasField("lease_expire_time")
        assert lost.data_drift.detected  # what the job recorded stays
        wait_for(lambda: LOST in watch.statuses(drift_id), "the LOST event on the watch stream")
        assert watch.statuses(drift_id).count(LOST) == 1
        port = stack.server.env["DRIFT_MONITOR_METRICS_LISTEN"].rsplit(":", 1)[1]
        assert runs_lost(port, experiment_id) == lost_before + 1
        listed = client.list_drifts(experiment_id, filter="status = LOST")
        assert drift_id in {d.id for d in listed}
    finally:
        watch.close()


def test_a_stopped_job_comes_back_and_its_completion_wins(stack, experiment, client, jobs):
    """SIGSTOP: the job is unreachable, not dead. It is marked LOST; resumed, its next heartbeat brings
    the run back to RUNNING and its completion lands."""
    _, experiment_id = experiment
    watch = Watch(stack, experiment_id)
    try:
        job = jobs()
        drift_id = job_drift(stack, experiment_id)
        os.kill(job.process.pid, signal.SIGSTOP)
        wait_for(lambda: client.get_drift(experiment_id, drift_id).status == LOST, "LOST")
        os.kill(job.process.pid, signal.SIGCONT)
        wait_for(lambda: client.get_drift(experiment_id, drift_id).status == RUNNING, "RUNNING again after the job's heartbeat")
        job.finish()
        done = client.get_drift(experiment_id, drift_id)
        assert done.status == COMPLETED and done.data_drift.detected and not done.status_reason
        wait_for(lambda: COMPLETED in watch.statuses(drift_id), "the completion on the watch stream")
        statuses = watch.statuses(drift_id)
        assert statuses[-3:] == [LOST, RUNNING, COMPLETED], statuses
    finally:
        watch.close()


def test_a_spooled_completion_converges_after_lost(stack, experiment, client, tmp_path):
    """The job's final state waited in the spool while the server declared the run LOST; the replay
    (drift-monitor sync) lands it, and a second replay changes nothing."""
    name, experiment_id = experiment
    request_id = uuid.uuid4().hex
    running = drift_pb2.Drift(model="spooled-model")
    running.lease_duration.FromMilliseconds(1000)
    created = client.create_drift(experiment_id, running, request_id)
    wait_for(lambda: client.get_drift(experiment_id, created.id).status == LOST, "LOST", timeout=10)

    final = drift_pb2.Drift(model="spooled-model", status=COMPLETED)
    final.data_drift.detected = True
    final.end_time.FromMilliseconds(int(time.time() * 1000))  # what the server stores
    with Client(**stack.settings(state_dir=tmp_path / "spool-state", heartbeat=0)) as replayer:
        record = {"experiment": name, "request_id": request_id, "drift": json_format.MessageToDict(final)}
        spool_for(replayer.settings).add(record)
        assert sync(replayer, quiet=True) == (1, 0)
        spool_for(replayer.settings).add(record)  # the same record again: an idempotent replay
        assert sync(replayer, quiet=True) == (1, 0)
    stored = client.get_drift(experiment_id, created.id)
    assert stored.status == COMPLETED and stored.data_drift.detected and stored.end_time == final.end_time


def test_runs_without_a_lease_are_never_marked(stack, experiment, client):
    _, experiment_id = experiment
    plain = client.create_drift(experiment_id, drift_pb2.Drift(model="no-lease"), uuid.uuid4().hex)
    time.sleep(2 * LEASE + 1)  # many sweeps
    stored = client.get_drift(experiment_id, plain.id)
    assert stored.status == RUNNING and not stored.HasField("lease_duration") and not stored.HasField("lease_expire_time")


def test_two_servers_expire_each_lease_exactly_once(stack, experiment, client):
    _, experiment_id = experiment
    second_metrics = str(free_port())
    second = Server(stack.database_uri, stack.directory / "second", DRIFT_MONITOR_TRUSTED_ISSUERS=stack.issuer.url,
                    DRIFT_MONITOR_LEASE_SWEEP_SECONDS=SWEEP, DRIFT_MONITOR_METRICS_LISTEN=f"127.0.0.1:{second_metrics}")
    try:
        first_metrics = stack.server.env["DRIFT_MONITOR_METRICS_LISTEN"].rsplit(":", 1)[1]
        before = runs_lost(first_metrics, experiment_id)
        requests = []
        for _ in range(40):
            drift = drift_pb2.Drift(model="raced")
            drift.lease_duration.FromMilliseconds(1000)
            requests.append(drift_pb2.CreateDriftRequest(drift=drift, request_id=uuid.uuid4().hex))
        created = client.call(client.drifts.BatchCreateDrifts, drift_pb2.BatchCreateDriftsRequest(experiment_id=experiment_id, requests=requests)).drifts
        ids = [d.id for d in created]
        db = stack.db()
        object_ids = [ObjectId(i) for i in ids]
        wait_for(lambda: db.drifts.count_documents({"_id": {"$in": object_ids}, "status": "LOST"}) == len(ids), "every run LOST")
        time.sleep(1)  # any late duplicate would be written by now
        lost_events = list(db.events.find({"drift._id": {"$in": object_ids}, "drift.status": "LOST"}, {"drift._id": 1}))
        per_drift = {i: 0 for i in object_ids}
        for event in lost_events:
            per_drift[event["drift"]["_id"]] += 1
        assert set(per_drift.values()) == {1}, f"LOST events per run: {sorted(per_drift.values())}"
        won = (runs_lost(first_metrics, experiment_id) - before, runs_lost(second_metrics, experiment_id))
        assert sum(won) == len(ids), won
        print(f"transitions by process: {won}")
    finally:
        second.stop()


def test_state_machine_and_lease_input(stack, experiment, client):
    _, experiment_id = experiment
    done = client.create_drift(experiment_id, drift_pb2.Drift(model="finished", status=COMPLETED), uuid.uuid4().hex)
    metadata = client._metadata()

    def update(status: int, drift_id: str = done.id) -> drift_pb2.Drift:
        request = drift_pb2.UpdateDriftRequest(
            drift=drift_pb2.Drift(id=drift_id, experiment_id=experiment_id, status=status), update_mask=field_mask_pb2.FieldMask(paths=["status"]))
        return client.drifts.UpdateDrift(request, metadata=metadata)

    with pytest.raises(grpc.RpcError) as refused:
        update(RUNNING)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "COMPLETED" in refused.value.details()
    assert update(COMPLETED).status == COMPLETED  # the same status again: a replay, allowed
    with pytest.raises(grpc.RpcError) as refused:
        update(LOST)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "drift.status" in refused.value.details()
    with pytest.raises(grpc.RpcError) as refused:
        client.drifts.RenewDriftLease(drift_pb2.RenewDriftLeaseRequest(experiment_id=experiment_id, drift_id=done.id), metadata=metadata)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "COMPLETED" in refused.value.details()
    assert client.get_drift(experiment_id, done.id).status == COMPLETED
    # What the server allowed before the state machine and still does: correcting a verdict.
    corrected = client.create_drift(experiment_id, drift_pb2.Drift(model="corrected", status=COMPLETED), uuid.uuid4().hex)
    assert update(drift_pb2.DRIFT_STATUS_FAILED, corrected.id).status == drift_pb2.DRIFT_STATUS_FAILED

    short = drift_pb2.Drift(model="too-short")
    short.lease_duration.FromMilliseconds(500)
    with pytest.raises(InvalidArgumentError) as bad:
        client.create_drift(experiment_id, short, uuid.uuid4().hex)
    assert bad.value.field == "drift.lease_duration"
    assert not list(client.list_drifts(experiment_id, filter='model = "too-short"'))


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_rest_caller_opts_in(stack, experiment):
    """Over REST (field names as in the protos): a lease at creation, heartbeats with :renewLease."""
    _, experiment_id = experiment
    base = f"https://{stack.target}/v1/experiments/{experiment_id}/drifts"
    headers = {"authorization": f"Bearer {stack.token('manager')}"}
    with httpx.Client(verify=str(stack.ca_pem), headers=headers) as http:
        created = http.post(base, json={"model": "rest-job", "lease_duration": "2s"})
        assert created.status_code == 200, created.text
        drift = created.json()
        assert drift["lease_duration"] == "2s" and drift["status"] == "DRIFT_STATUS_RUNNING"
        renewed = http.post(f"{base}/{drift['id']}:renewLease", json={})
        assert renewed.status_code == 200, renewed.text
        assert renewed.json()["status"] == "DRIFT_STATUS_RUNNING" and moment(renewed.json()["lease_expire_time"]) > moment(drift["lease_expire_time"])
        deadline = time.monotonic() + 10
        while http.get(f"{base}/{drift['id']}").json()["status"] != "DRIFT_STATUS_LOST":
            assert time.monotonic() < deadline, "the REST run never became LOST"
            time.sleep(0.1)
