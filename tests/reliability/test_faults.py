"""Faults: processes SIGKILLed under load and restarted by the test; nothing lost, nothing twice.

Each test runs on the module's own stack (stack.Stack) and leaves it healthy again.
"""

from __future__ import annotations

import threading
import time
import uuid

import grpc
import pytest

from drift_monitoring import Client, DriftMonitor, flush, sync
from drift_monitoring.offline import spool_for
from drift_monitoring.v1 import user_pb2, user_pb2_grpc
from tests.reliability.workload import Ledger, Writer, audit, start_watchers


def _experiment(stack, persona: str = "manager") -> tuple[str, str]:
    with stack.client(persona) as client:
        client.register()
        name = f"fault-{uuid.uuid4().hex[:8]}"
        return name, client.new_experiment(name, "fault test").id


def test_database_killed_during_a_run(healthy):
    """The database dies in the middle of a run and stays away for two more: all three are spooled
    with their final state, and once it is back one sync stores each exactly once."""
    stack = healthy
    name, experiment_id = _experiment(stack)
    settings = stack.settings(timeout=3, state_dir=stack.directory / f"state-{uuid.uuid4().hex[:6]}")
    request_ids = []
    with DriftMonitor(name, "model-a", **settings) as first:
        first.concept(True, {"p_value": 0.01})
        stack.database.kill()
        first.data(False, {"p_value": 0.4})  # the server cannot store this: the monitor goes offline
        request_ids.append(first.request_id)
    # Sent in the background: the failed send keeps the final state in the spool and trips the breaker.
    assert flush(60)
    for model in ("model-b", "model-c"):
        with DriftMonitor(name, model, **settings) as run:
            run.data(True, {"drifted_features": 3})
        assert run.offline
        request_ids.append(run.request_id)
    with Client(**settings) as client:
        assert spool_for(client.settings).pending() == 3
        stack.database.start()
        deadline = time.monotonic() + 30
        while spool_for(client.settings).pending() and time.monotonic() < deadline:
            sync(client)  # the server reconnects to the database on its own
            time.sleep(0.5)
        assert spool_for(client.settings).pending() == 0
        sync(client)  # a second sync finds nothing to send twice
    db = stack.db()
    stored = list(db.drifts.find({"request_id": {"$in": request_ids}}))
    assert sorted(d["request_id"] for d in stored) == sorted(request_ids)
    assert {d["status"] for d in stored} == {"COMPLETED"}
    first_stored = next(d for d in stored if d["request_id"] == request_ids[0])
    assert first_stored["concept_drift"]["parameters"] == {"p_value": 0.01} and first_stored["data_drift"]["parameters"] == {"p_value": 0.4}


@pytest.mark.parametrize("victim", ["server", "envoy"])
def test_killed_under_writers_and_watchers(healthy, victim):
    """Eight jobs write and two watchers stream while the server (or Envoy) is SIGKILLed and restarted:
    jobs retry (create is idempotent on request_id), watchers resume from their last token."""
    stack = healthy
    name, experiment_id = _experiment(stack)
    watchers = start_watchers(2, stack.settings(), experiment_id)
    ledger, stop = Ledger(), threading.Event()
    writers = [Writer(i, stack.settings(timeout=30), name, ledger, stop) for i in range(8)]
    for writer in writers:
        writer.start()
    time.sleep(3)
    killed_at = time.monotonic()
    getattr(stack, victim).restart()  # SIGKILL, then start again on the same port
    down = time.monotonic() - killed_at
    time.sleep(4)
    stop.set()
    for writer in writers:
        writer.join(60)
    result = audit(stack.db(), experiment_id, ledger, watchers)
    print(f"\n{victim} killed (down {down:.1f} s): {result.row()}")
    assert ledger.errors == [], ledger.errors[:5]
    assert (result.duplicates, result.missing, result.wrong_status) == ([], [], [])
    assert result.runs_found == result.runs_expected > 0
    assert [w.error for w in watchers] == ["", ""]
    assert result.watchers_matching == 2, result.row()
    _every_drift_has_its_events(stack, experiment_id)


def _every_drift_has_its_events(stack, experiment_id: str) -> None:
    """A run stored without its CREATED event would be invisible to every watcher, forever."""
    from bson import ObjectId

    db = stack.db()
    drifts = {str(d["_id"]) for d in db.drifts.find({"experiment": ObjectId(experiment_id)}, {"_id": 1})}
    created = {str(e["drift"]["_id"]) for e in db.events.find({"experiment": ObjectId(experiment_id), "type": "CREATED"})}
    assert drifts == created, f"drifts without a CREATED event: {sorted(drifts - created)[:5]}"


def test_issuer_killed_tokens_keep_working(healthy):
    """With the issuer dead, Envoy keeps its cached keys past their refresh time: tokens signed before
    (and entitlements the server already looked up) keep working; the issuer back, all is as before."""
    stack = healthy
    token_with_claim = stack.issuer.token("editor")
    token_without_claim = stack.issuer.token("editor", entitlements=False)  # the server asks UserInfo
    with stack.client("editor") as client:
        client.register()

    def who(token: str) -> user_pb2.User:
        with grpc.secure_channel(stack.envoy.target, grpc.ssl_channel_credentials(stack.ca_pem.read_bytes())) as channel:
            return user_pb2_grpc.UserServiceStub(channel).GetCurrentUser(
                user_pb2.GetCurrentUserRequest(), metadata=(("authorization", f"Bearer {token}"),), timeout=10)

    before = [who(token_with_claim), who(token_without_claim)]
    stack.issuer.kill()
    time.sleep(4)  # the JWKS cache of this stack is 1 s: several refreshes fail meanwhile
    during = [who(token_with_claim), who(token_without_claim)]
    assert [u.id for u in during] == [u.id for u in before]
    assert list(during[1].entitlements) == list(before[1].entitlements) != []
    stack.issuer.restart()
    assert who(stack.issuer.token("editor")).id == before[0].id


def test_a_create_cut_off_before_its_event_is_completed_by_the_retry(healthy):
    """Deterministic form of a SIGKILL between the drift insert and its event (the server has no
    transactions): the drift is in the database, its CREATED event is not. The client's retry with the
    same request_id must append the event, once, so watchers hear of the run."""
    from bson import ObjectId

    from drift_monitoring.v1 import drift_pb2
    from server.services.drifts import drift_id_for

    stack = healthy
    name, experiment_id = _experiment(stack)
    db = stack.db()
    request_id = uuid.uuid4().hex
    with stack.client() as client:
        created = client.create_drift(experiment_id, drift_pb2.Drift(model="cut-off"), request_id)
        db.events.delete_many({"experiment": ObjectId(experiment_id)})  # as if the server died before appending it
        assert created.id == str(drift_id_for(ObjectId(experiment_id), request_id))
        for _ in range(2):  # the retry, and one more
            assert client.create_drift(experiment_id, drift_pb2.Drift(model="cut-off"), request_id).id == created.id
    events = list(db.events.find({"experiment": ObjectId(experiment_id)}))
    assert [(e["type"], str(e["drift"]["_id"])) for e in events] == [("CREATED", created.id)]
