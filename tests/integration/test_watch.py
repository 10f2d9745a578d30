"""WatchDrifts: ordered, resumable with no gap or duplicate, across processes, immune to slow peers,
ended by deleting the experiment, alive with heartbeats. Every read is bounded by a timeout."""

from __future__ import annotations

import asyncio

import pytest

from drift_monitoring.v1 import drift_pb2
from tests.integration.helpers import (
    COMPLETED,
    CREATED,
    DELETED,
    HEARTBEAT,
    MANAGER,
    READER,
    UPDATED,
    Code,
    direct_api,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def experiment_id(people):
    return (await people["manager"].create_experiment()).id


def _drifts(count: int, prefix: str) -> list[drift_pb2.Drift]:
    return [drift_pb2.Drift(model=f"{prefix}{i}") for i in range(count)]


async def test_events_arrive_in_order_with_snapshots(people, experiment_id):
    manager = people["manager"]
    async with manager.watch(experiment_id) as watcher:
        await watcher.ready()
        created = [await manager.create_drift(experiment_id, model=f"m{i}") for i in range(5)]
        updated = await manager.update_drift(experiment_id, created[0].id, ["status"], status=COMPLETED)
        await manager.delete_drift(experiment_id, created[1].id)
        events = await watcher.changes(7)

    assert [e.type for e in events] == [CREATED] * 5 + [UPDATED, DELETED]
    assert [e.drift.id for e in events] == [d.id for d in created] + [created[0].id, created[1].id]
    assert [e.drift for e in events[:5]] == created  # the drift as stored right after the change
    assert events[5].drift == updated and events[5].drift.HasField("end_time")
    assert (events[6].drift.id, events[6].drift.experiment_id, events[6].drift.model) == (created[1].id, experiment_id, "")
    assert len({e.resume_token for e in events}) == 7 and all(e.resume_token for e in events)
    times = [e.event_time.ToDatetime() for e in events]
    assert all(e.HasField("event_time") for e in events) and times == sorted(times)


async def test_without_token_the_stream_starts_at_the_present(people, experiment_id):
    manager = people["manager"]
    await manager.batch_create(experiment_id, _drifts(3, "before"))
    async with manager.watch(experiment_id) as watcher:
        await watcher.ready()
        after = await manager.create_drift(experiment_id, model="after")
        assert [e.drift.id for e in await watcher.changes(1)] == [after.id]
        assert await watcher.quiet(0.5) == []


async def test_resume_continues_with_no_gap_and_no_duplicate(people, experiment_id):
    manager = people["manager"]
    async with manager.watch(experiment_id) as watcher:
        await watcher.ready()
        first = await manager.batch_create(experiment_id, _drifts(6, "a"))
        seen = await watcher.changes(3)  # the client "disconnects" after three events
    second = await manager.batch_create(experiment_id, _drifts(4, "b"))  # written while nobody watches
    async with manager.watch(experiment_id, seen[-1].resume_token) as resumed:
        rest = await resumed.changes(7)
        assert await resumed.quiet(0.5) == []  # and nothing after the last one
    assert [e.drift.id for e in seen + rest] == [d.id for d in first + second]


async def test_resume_from_every_token_replays_exactly_the_rest(people, experiment_id):
    manager = people["manager"]
    async with manager.watch(experiment_id) as watcher:
        await watcher.ready()
        drift = await manager.create_drift(experiment_id)
        await manager.update_drift(experiment_id, drift.id, ["tags"], tags=["x"])
        await manager.delete_drift(experiment_id, drift.id)
        events = await watcher.changes(3)
    for index, event in enumerate(events):
        async with manager.watch(experiment_id, event.resume_token) as resumed:
            replay = await resumed.changes(2 - index) if index < 2 else []
            assert [e.type for e in replay] == [e.type for e in events[index + 1 :]]
            assert await resumed.quiet(0.3) == []


async def test_heartbeat_token_resumes_after_everything_seen(people, experiment_id):
    manager = people["manager"]
    await manager.batch_create(experiment_id, _drifts(3, "old"))
    async with manager.watch(experiment_id) as watcher:
        heartbeat = await watcher.ready()
    assert heartbeat.resume_token
    new = await manager.create_drift(experiment_id, model="new")
    async with manager.watch(experiment_id, heartbeat.resume_token) as resumed:
        assert [e.drift.id for e in await resumed.changes(1)] == [new.id]


async def test_heartbeats_come_every_interval_while_idle(people, experiment_id):
    """The shared server runs with DRIFT_MONITOR_HEARTBEAT_SECONDS=1: after the first heartbeat (which
    also waits for the stream to subscribe), one a second, each with a resume token and a time."""
    loop = asyncio.get_running_loop()
    async with people["manager"].watch(experiment_id) as watcher:
        beats = [await watcher.next(timeout=10)]
        arrivals = [loop.time()]
        for _ in range(3):
            beats.append(await watcher.next(timeout=3))
            arrivals.append(loop.time())
    assert [b.type for b in beats] == [HEARTBEAT] * 4
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)]
    assert all(0.5 <= gap <= 2.0 for gap in gaps), f"heartbeat gaps {gaps} for a 1 s interval"
    assert all(b.resume_token and b.HasField("event_time") and not b.drift.id for b in beats)


async def test_no_events_of_other_experiments(people, experiment_id):
    manager = people["manager"]
    other = (await manager.create_experiment()).id
    async with manager.watch(experiment_id) as watcher:
        await watcher.ready()
        await manager.create_drift(other)
        mine = await manager.create_drift(experiment_id)
        assert [e.drift.id for e in await watcher.changes(1)] == [mine.id]
        assert await watcher.quiet(0.5) == []


async def test_watcher_on_another_process_sees_every_write(people, experiment_id, start_server, direct_to, issuer):
    other = direct_api(direct_to(await asyncio.to_thread(start_server)), MANAGER, issuer.url)
    manager = people["manager"]
    async with other.watch(experiment_id) as remote, manager.watch(experiment_id) as local:
        await remote.ready()
        await local.ready()
        here = await manager.batch_create(experiment_id, _drifts(5, "here"))  # through the shared server
        there = await other.batch_create(experiment_id, _drifts(5, "there"))  # through the second process
        updated = await other.update_drift(experiment_id, here[0].id, ["status"], status=COMPLETED)
        expected = [d.id for d in here + there] + [updated.id]
        assert [e.drift.id for e in await remote.changes(11)] == expected
        assert [e.drift.id for e in await local.changes(11)] == expected


async def test_concurrent_writers_on_two_processes_are_seen_once_in_one_order(people, experiment_id, start_server, direct_to, issuer):
    """Both processes append to one event log: watchers on either see all 80 creations exactly once,
    in the same order, and resuming from any event on the other process continues that order."""
    other = direct_api(direct_to(await asyncio.to_thread(start_server)), MANAGER, issuer.url)
    manager = people["manager"]
    async with manager.watch(experiment_id) as here, other.watch(experiment_id) as there:
        await here.ready()
        await there.ready()
        written = await asyncio.gather(
            *(manager.create_drift(experiment_id, model=f"here-{i}") for i in range(40)),
            *(other.create_drift(experiment_id, model=f"there-{i}") for i in range(40)),
        )
        seen_here = [e.drift.id for e in await here.changes(80)]
        seen_there_events = await there.changes(80)
        assert await here.quiet(0.3) == [] and await there.quiet(0.1) == []
    seen_there = [e.drift.id for e in seen_there_events]
    assert sorted(seen_here) == sorted(d.id for d in written) and len(set(seen_here)) == 80
    assert seen_there == seen_here
    async with manager.watch(experiment_id, seen_there_events[29].resume_token) as resumed:
        assert [e.drift.id for e in await resumed.changes(50)] == seen_here[30:]


async def test_resume_token_works_on_another_process(people, experiment_id, start_server, direct_to, issuer):
    manager = people["manager"]
    async with manager.watch(experiment_id) as watcher:
        await watcher.ready()
        first = await manager.batch_create(experiment_id, _drifts(4, "one"))
        seen = await watcher.changes(2)
    rest_written = await manager.batch_create(experiment_id, _drifts(3, "two"))
    other = direct_api(direct_to(await asyncio.to_thread(start_server)), MANAGER, issuer.url)
    async with other.watch(experiment_id, seen[-1].resume_token) as resumed:
        rest = await resumed.changes(5)
        assert await resumed.quiet(0.5) == []
    assert [e.drift.id for e in seen + rest] == [d.id for d in first + rest_written]


async def test_permissions_hold_on_every_process(people, experiment_id, start_server, direct_to, issuer):
    reader = direct_api(direct_to(await asyncio.to_thread(start_server)), READER, issuer.url)
    async with reader.watch(experiment_id) as watcher:  # reader has no grant on this experiment
        assert (await watcher.error()).code() == Code.NOT_FOUND


@pytest.mark.parametrize("queue", [None, "8"], ids=["default queue", "tiny queue"])
async def test_slow_watcher_does_not_delay_others_and_catches_up(start_server, direct_to, issuer, scratch_database, queue):
    """One watcher opens a stream and reads nothing while 1200 events are written: another watcher
    still gets every event promptly, and the slow one later gets them all, in order, once each.
    With an 8-event queue per watcher the slow one overflows at once and must catch up from the log.
    (Own server and database: thousands of drifts would slow every later test.)"""
    env = {"MONGODB_URI": scratch_database[0], **({"DRIFT_MONITOR_WATCH_QUEUE": queue} if queue else {})}
    api = await direct_api(direct_to(await asyncio.to_thread(start_server, **env)), MANAGER, issuer.url).register()
    experiment_id = (await api.create_experiment()).id
    slow = api.watch(experiment_id, reading=False)  # open, but nobody reads it
    async with slow, api.watch(experiment_id) as fast:
        await fast.ready()
        written = []
        for round_ in range(3):
            written += await api.batch_create(experiment_id, _drifts(400, f"r{round_}-"))
        events = await fast.changes(len(written), timeout=30)
        assert [e.drift.id for e in events] == [d.id for d in written]
        slow.start()  # now it reads: everything, in order, nothing twice
        caught_up = await slow.changes(len(written), timeout=60)
        assert [e.drift.id for e in caught_up] == [d.id for d in written]
        assert await slow.quiet(0.3) == []


async def test_deleting_the_experiment_ends_the_stream_with_not_found(people, experiment_id):
    async with people["manager"].watch(experiment_id) as watcher:
        await watcher.ready()
        await people["manager"].delete_experiment(experiment_id)
        assert (await watcher.error()).code() == Code.NOT_FOUND


async def test_deleting_ends_streams_on_other_processes_too(people, experiment_id, start_server, direct_to, issuer):
    other = direct_api(direct_to(await asyncio.to_thread(start_server)), MANAGER, issuer.url)
    async with other.watch(experiment_id) as watcher:
        await watcher.ready()
        await people["manager"].delete_experiment(experiment_id)  # through the shared server
        assert (await watcher.error()).code() == Code.NOT_FOUND


@pytest.mark.parametrize("token", ["not-a-token", "eyJzZXEiOjF9", "x" * 2000])
async def test_bad_resume_token_is_refused(people, experiment_id, token):
    async with people["manager"].watch(experiment_id, token) as watcher:
        error = await watcher.error()
    assert error.code() == Code.INVALID_ARGUMENT and "resume_token" in error.details()


async def test_page_token_is_not_a_resume_token(people, experiment_id):
    manager = people["manager"]
    await manager.batch_create(experiment_id, _drifts(3, "p"))
    page_token = (await manager.list_drifts(experiment_id, page_size=1)).next_page_token
    async with manager.watch(experiment_id, page_token) as watcher:
        error = await watcher.error()
    assert error.code() == Code.INVALID_ARGUMENT and "resume_token" in error.details()


async def test_old_events_are_pruned_and_resuming_before_them_is_refused(start_server, direct_to, issuer, scratch_database):
    """With a retention of 100 events, 1000 writes leave the newest 100 and less than a block more (whole
    blocks of 100 seqs go, server/events.py); a token from before them
    is refused with a message saying what to do (never a silent gap), a recent one resumes exactly."""
    uri, database = scratch_database
    env = {"MONGODB_URI": uri, "DRIFT_MONITOR_EVENT_RETENTION": "100"}
    api = await direct_api(direct_to(await asyncio.to_thread(start_server, **env)), MANAGER, issuer.url).register()
    experiment_id = (await api.create_experiment()).id
    async with api.watch(experiment_id) as watcher:
        await watcher.ready()
        written = await api.batch_create(experiment_id, _drifts(500, "a"))
        written += await api.batch_create(experiment_id, _drifts(500, "b"))
        events = await watcher.changes(1000, timeout=60)
    assert 100 <= database["events"].count_documents({}) < 200
    async with api.watch(experiment_id, events[0].resume_token) as stale:
        error = await stale.error()
    # OUT_OF_RANGE, as the contract says: resync (list, then watch from now), the request itself was fine.
    assert error.code() == Code.OUT_OF_RANGE and "older than the event log keeps" in error.details()
    async with api.watch(experiment_id, events[-51].resume_token) as recent:
        rest = await recent.changes(50, timeout=30)
    assert [e.drift.id for e in rest] == [d.id for d in written[-50:]]
