"""The outbox with two real server processes on one database (docs/alerts.md, Delivery): they never both
send a delivery, a SIGKILL after firing and before delivery loses nothing, and a SIGKILL mid-delivery is
made good under the same delivery id. The second process evaluates and delivers like the first (it is not
behind Envoy: it only works off the database)."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
from bson import ObjectId

from drift_monitoring.v1 import alert_pb2, drift_pb2
from stack import Server
from tests.alerts.conftest import alert_env

C = alert_pb2.AlertCondition
FAILED = drift_pb2.DRIFT_STATUS_FAILED


@pytest.fixture
def second(stack, ca_pem, mailbox) -> Iterator[Server]:  # noqa: ANN001
    process = Server(stack.database_uri, stack.directory, **alert_env(ca_pem, mailbox[0]))
    yield process
    process.stop(signal.SIGKILL)


def rules(api, receiver, prefix: str, count: int) -> tuple[str, list[str]]:  # noqa: ANN001
    experiment = api.experiment()
    return experiment, [api.rule(experiment, receiver.url(f"{prefix}/{i}"), condition=C(run_failed=C.RunFailed())).id for i in range(count)]


def notification_ids(stack, experiment: str) -> set[str]:  # noqa: ANN001
    return {doc["_id"] for doc in stack.db().alert_notifications.find({"experiment": ObjectId(experiment)})}


def test_two_processes_never_send_the_same_delivery(api, receiver, stack, second):
    tag = f"ok/two-{uuid.uuid4().hex[:8]}"
    experiment, made = rules(api, receiver, tag, 30)
    api.drift(experiment, model="m", status=FAILED)  # both processes evaluate all 30 rules (one woken at once, one by its pass)
    found = receiver.wait(tag, lambda f: len({r["headers"]["webhook-id"] for r in f}) == 30)
    time.sleep(2)  # anything sent twice would have arrived by now
    found = receiver.requests(tag)
    assert Counter(r["headers"]["webhook-id"] for r in found).most_common(1)[0][1] == 1, "a delivery was sent twice"
    assert {r["headers"]["webhook-id"] for r in found} == notification_ids(stack, experiment)
    owners = {doc["owner"].split(":")[1] for doc in stack.db().alert_claims.find({"experiment": ObjectId(experiment)})}
    assert len(made) == 30 and owners  # (which process sent which is up to the race)


def test_sigkill_between_firing_and_delivery_loses_nothing(api, receiver, stack, second):
    tag = f"ok/kill-{uuid.uuid4().hex[:8]}"
    (receiver.control / "down").touch()  # every answer 503: notifications are made, none delivered
    try:
        experiment, _ = rules(api, receiver, tag, 10)
        api.drift(experiment, model="m", status=FAILED)
        db = stack.db()
        deadline = time.monotonic() + 20
        while db.alert_notifications.count_documents({"experiment": ObjectId(experiment)}) < 10:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        stack.server.stop(signal.SIGKILL)
        second.stop(signal.SIGKILL)
        assert db.alert_notifications.count_documents({"experiment": ObjectId(experiment), "status": "PENDING"}) == 10
    finally:
        (receiver.control / "down").unlink()
    stack.server.restart()
    second.restart()
    found = receiver.wait(tag, lambda f: sum(r["status"] == 200 for r in f) >= 10, timeout=40)
    time.sleep(2)
    found = receiver.requests(tag)
    delivered = Counter(r["headers"]["webhook-id"] for r in found if r["status"] == 200)
    assert set(delivered) == notification_ids(stack, experiment) and set(delivered.values()) == {1}
    assert {r["headers"]["webhook-id"] for r in found} == set(delivered)  # the failed attempts carried the same ids
    assert db.alert_notifications.count_documents({"experiment": ObjectId(experiment), "status": "DELIVERED"}) == 10


def test_sigkill_mid_delivery_is_resent_under_the_same_id(api, receiver, stack, second):
    tag = f"hang/30/kill-{uuid.uuid4().hex[:8]}"  # the first request of an id is held: its sender is killed meanwhile
    experiment = api.experiment()
    api.rule(experiment, receiver.url(tag), condition=C(run_failed=C.RunFailed()))
    api.drift(experiment, model="m", status=FAILED)
    first = receiver.wait(tag, lambda f: len(f) == 1)[0]
    claim = stack.db().alert_claims.find_one({"_id": first["headers"]["webhook-id"] + "#0"})
    sender = next(p for p in (stack.server, second) if str(p.process.pid) == claim["owner"].split(":")[1])
    os.kill(sender.process.pid, signal.SIGKILL)
    sender.process.wait()
    if sender is stack.server:  # Envoy's backend must come back for the next tests; the other process does the work
        stack.server.restart()
    found = receiver.wait(tag, lambda f: len(f) == 2, timeout=40)  # taken over once the claim is stale (3 timeouts + 5 s)
    assert [r["headers"]["webhook-id"] for r in found] == [first["headers"]["webhook-id"]] * 2
    doc = stack.db().alert_notifications.find_one({"_id": first["headers"]["webhook-id"]})
    deadline = time.monotonic() + 10
    while doc["status"] != "DELIVERED" and time.monotonic() < deadline:
        time.sleep(0.1)
        doc = stack.db().alert_notifications.find_one({"_id": first["headers"]["webhook-id"]})
    assert doc["status"] == "DELIVERED"
