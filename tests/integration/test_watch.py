"""WatchDrifts: ordered, resumable with no gap or duplicate, across processes, immune to slow peers."""

import queue

import grpc
import pytest

from drift_monitoring.v1 import drift_pb2, experiment_pb2
from tests.integration.helpers import Watcher, direct_api

CREATED, UPDATED, DELETED = drift_pb2.DRIFT_EVENT_TYPE_CREATED, drift_pb2.DRIFT_EVENT_TYPE_UPDATED, drift_pb2.DRIFT_EVENT_TYPE_DELETED


@pytest.fixture
def experiment_id(people):
    return people["manager"].create_experiment().id


def _batch(api, experiment_id, count, prefix):
    requests = [drift_pb2.CreateDriftRequest(drift=drift_pb2.Drift(model=f"{prefix}{i}"), request_id=f"{prefix}{i}") for i in range(count)]
    return api.drifts.BatchCreateDrifts(drift_pb2.BatchCreateDriftsRequest(experiment_id=experiment_id, requests=requests)).drifts


def test_events_arrive_in_order_with_snapshots(people, experiment_id):
    manager = people["manager"]
    watcher = Watcher(manager, experiment_id)
    watcher.ready()
    created = [manager.create_drift(experiment_id, model=f"m{i}") for i in range(5)]
    change = drift_pb2.Drift(id=created[0].id, experiment_id=experiment_id, status=drift_pb2.DRIFT_STATUS_COMPLETED)
    manager.drifts.UpdateDrift(drift_pb2.UpdateDriftRequest(drift=change))
    manager.drifts.DeleteDrift(drift_pb2.DeleteDriftRequest(experiment_id=experiment_id, drift_id=created[1].id))
    events = watcher.changes(7)
    watcher.close()
    assert [e.type for e in events] == [CREATED] * 5 + [UPDATED, DELETED]
    assert [e.drift.id for e in events] == [d.id for d in created] + [created[0].id, created[1].id]
    assert events[0].drift == created[0]
    assert events[5].drift.status == drift_pb2.DRIFT_STATUS_COMPLETED and events[5].drift.HasField("end_time")
    assert len({e.resume_token for e in events}) == 7


def test_resume_continues_with_no_gap_and_no_duplicate(people, experiment_id):
    manager = people["manager"]
    watcher = Watcher(manager, experiment_id)
    watcher.ready()
    first = _batch(manager, experiment_id, 6, "a")
    seen = watcher.changes(3)  # the client "disconnects" after three events
    watcher.close()
    second = _batch(manager, experiment_id, 4, "b")  # written while nobody watches
    resumed = Watcher(manager, experiment_id, seen[-1].resume_token)
    rest = resumed.changes(7)
    resumed.close()
    assert [e.drift.id for e in seen + rest] == [d.id for d in list(first) + list(second)]


def test_heartbeat_token_resumes_after_everything_seen(people, experiment_id):
    manager = people["manager"]
    _batch(manager, experiment_id, 3, "old")
    watcher = Watcher(manager, experiment_id)
    heartbeat = watcher.ready()
    watcher.close()
    new = manager.create_drift(experiment_id, model="new")
    resumed = Watcher(manager, experiment_id, heartbeat.resume_token)
    assert [e.drift.id for e in resumed.changes(1)] == [new.id]
    resumed.close()


def test_watcher_on_another_process_sees_every_event(people, experiment_id, start_server):
    other = start_server()
    with grpc.insecure_channel(other.target) as channel:
        remote_reader = direct_api(channel, people["reader"].claims)
        # reader has no access to this experiment: use the manager's identity on the second process
        remote = direct_api(channel, people["manager"].claims)
        watcher = Watcher(remote, experiment_id)
        watcher.ready()
        written = _batch(people["manager"], experiment_id, 5, "x")  # through the first process
        events = watcher.changes(5)
        watcher.close()
        assert [e.drift.id for e in events] == [d.id for d in written]
        with pytest.raises(grpc.RpcError) as caught:
            next(iter(remote_reader.drifts.WatchDrifts(drift_pb2.WatchDriftsRequest(experiment_id=experiment_id), timeout=5)))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.fixture(params=["default queue", "tiny queue"])
def watch_api(request, people, start_server):
    """The manager on the shared server, or on one whose watch queues overflow at once (8 events),
    so the catch-up-from-the-log path runs for every watcher."""
    if request.param == "default queue":
        yield people["manager"], None
        return
    other = start_server(DRIFT_MONITOR_WATCH_QUEUE="8")
    with grpc.insecure_channel(other.target) as channel:
        yield direct_api(channel, people["manager"].claims), other


def test_slow_watcher_does_not_stall_others_and_catches_up(people, experiment_id, watch_api):
    manager, process = watch_api
    slow = Watcher(manager, experiment_id, read=False)  # opened but not read: its buffers fill up
    fast = Watcher(manager, experiment_id)
    fast.ready()
    written = []
    for round_ in range(3):
        written += _batch(manager, experiment_id, 700, f"r{round_}-")
    events = fast.changes(len(written), timeout=60)
    assert [e.drift.id for e in events] == [d.id for d in written]
    slow.start()  # now it reads: everything, in order, nothing twice
    caught_up = slow.changes(len(written), timeout=60)
    assert [e.drift.id for e in caught_up] == [d.id for d in written]
    for watcher in (slow, fast):
        watcher.close()
    if process is not None:
        assert "catches up from the event log" in process.log.read_text()


def test_deleting_the_experiment_ends_the_stream(people, experiment_id):
    watcher = Watcher(people["manager"], experiment_id)
    watcher.ready()
    people["manager"].experiments.DeleteExperiment(experiment_pb2.DeleteExperimentRequest(experiment_id=experiment_id))
    with pytest.raises(grpc.RpcError) as caught:
        while True:
            watcher.next()
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_bad_resume_token_is_refused(people, experiment_id):
    watcher = Watcher(people["manager"], experiment_id, "not-a-token")
    with pytest.raises(grpc.RpcError) as caught:
        watcher.next()
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "resume_token" in caught.value.details()


def test_no_events_of_other_experiments(people, experiment_id):
    manager = people["manager"]
    other = manager.create_experiment().id
    watcher = Watcher(manager, experiment_id)
    watcher.ready()
    manager.create_drift(other)
    mine = manager.create_drift(experiment_id)
    assert [e.drift.id for e in watcher.changes(1)] == [mine.id]
    watcher.close()
    with pytest.raises(queue.Empty):
        while True:
            event = watcher.items.get(timeout=0.5)
            assert isinstance(event, grpc.RpcError) or event.type == drift_pb2.DRIFT_EVENT_TYPE_HEARTBEAT
            if isinstance(event, grpc.RpcError):
                raise queue.Empty
