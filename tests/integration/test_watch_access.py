"""Open WatchDrifts streams keep only the access they still have (server/stream_access.py).

Streams are opened through the session's Envoy (server process 1) with real tokens; every change is made
through a second Envoy in front of a second server process on the same database. For each way of losing
access (a group grant revoked, the experiment made private, the user's own grant removed, the token
expiring) the stream must end with the status a new WatchDrifts would get, within the documented bound,
and deliver nothing written after the change; a watcher who keeps access sees those writes (the control).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
import pytest
import pytest_asyncio

from drift_monitoring.v1 import experiment_pb2
from stack import Envoy
from tests.integration.helpers import (
    EDIT,
    GROUP,
    HEARTBEAT,
    MANAGER,
    READ,
    READER,
    Api,
    Code,
    RpcError,
    StreamEnded,
    Watcher,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Changes made through the API reach other processes' streams through the event log's tail (0.2 s by
# default) and one read of the experiment; this leaves room for a loaded 2-core machine.
BOUND = 3.0
HEARTBEAT_SECONDS = 1.0  # the test servers' (stack.Server); an idle stream's token check waits for it


RECHECK = 1.0  # the second process's DRIFT_MONITOR_WATCH_RECHECK_SECONDS


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def second_server(start_server):
    return await asyncio.to_thread(start_server, DRIFT_MONITOR_WATCH_RECHECK_SECONDS=str(RECHECK))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def other_process(second_server, run_dir, issuer, ca_pem) -> AsyncIterator[Api]:
    """The manager, through a second Envoy and a second server process on the same database."""
    server = second_server
    edge = await asyncio.to_thread(Envoy, run_dir, "envoy-access", server, issuer, ca_pem.parent, "--rate-limit", "100000")
    channel = grpc.aio.secure_channel(edge.target, grpc.ssl_channel_credentials(ca_pem.read_bytes()))
    yield Api(channel, (("authorization", f"Bearer {issuer.keys.sign(MANAGER.claims(issuer.url))}"),), MANAGER)
    await channel.close()
    edge.stop()


async def _until_end(watcher: Watcher, timeout: float) -> tuple[list, RpcError | None, float]:
    """Every non-heartbeat event until the stream ends; the error (None if it did not end) and when."""
    events, deadline = [], time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            event = await watcher.next(remaining)
        except RpcError as error:
            return events, error, time.monotonic()
        except (TimeoutError, StreamEnded):
            break
        if event.type != HEARTBEAT:
            events.append(event)
    return events, None, time.monotonic()


async def _loses_access(
    watcher_api: Api, experiment_id: str, writer: Api, take_away: Callable[[], Awaitable[float]], code: grpc.StatusCode, bound: float
) -> None:
    async with watcher_api.watch(experiment_id) as watcher:
        await watcher.ready()
        before = await writer.create_drift(experiment_id, model="before")
        assert [e.drift.id for e in await watcher.changes(1)] == [before.id]  # the stream works
        changed = await take_away()  # monotonic time of the change
        after = await writer.create_drift(experiment_id, model="after")
        events, error, ended = await _until_end(watcher, bound + 5)
    assert error is not None, f"{watcher_api!r}'s stream is still open {bound + 5:.0f} s after losing access"
    assert error.code() == code, f"{watcher_api!r}: {error.code().name} {error.details()}"
    assert ended - changed <= bound, f"{watcher_api!r}'s stream ended {ended - changed:.2f} s after the change (bound {bound} s)"
    assert after.id not in {e.drift.id for e in events}, "a run written after the change was delivered"


async def test_streams_end_when_access_is_taken_away_on_another_process(people, other_process, gateway, issuer):
    manager_b = other_process
    reader, editor, group_member, outsider = (people[name] for name in ("reader", "editor", "group_member", "outsider"))

    def grants(*pairs):
        return [experiment_pb2.Grant(entity=entity, level=level) for entity, level in pairs]

    async def set_grants(experiment_id: str, *pairs) -> float:
        await manager_b.update_experiment(experiment_id, ["grants"], grants=grants(*pairs))
        return time.monotonic()

    async def make_private(experiment_id: str) -> float:
        await manager_b.update_experiment(experiment_id, ["public"], public=False)
        return time.monotonic()

    group = await manager_b.create_experiment(grants=grants((GROUP, READ)))
    public = await manager_b.create_experiment(public=True)
    shared = await manager_b.create_experiment(grants=grants((reader.id, READ), (editor.id, EDIT)))
    expiring = await manager_b.create_experiment(grants=grants((reader.id, READ)))

    lifetime = 4  # seconds: Envoy lets it in (not yet expired), the server must end the stream at its exp
    short_token = issuer.keys.sign(READER.claims(issuer.url, lifetime=lifetime))
    expires = time.time() + lifetime
    short_lived = Api(gateway.channel, (("authorization", f"Bearer {short_token}"),), READER)

    async def expire() -> float:
        await asyncio.sleep(max(0.0, expires - time.time()))
        return time.monotonic()

    async def control() -> None:
        """The editor keeps EDIT on `shared` while the reader loses READ: it sees the later run."""
        async with editor.watch(shared.id) as watcher:
            await watcher.ready()
            await asyncio.sleep(1.5)  # past the reader's revocation below
            late = await manager_b.create_drift(shared.id, model="control")
            seen = [e.drift.id for e in await watcher.changes(3, timeout=15)]  # before, after, control
            assert late.id in seen

    await asyncio.gather(
        _loses_access(group_member, group.id, manager_b, lambda: set_grants(group.id), Code.NOT_FOUND, BOUND),
        _loses_access(outsider, public.id, manager_b, lambda: make_private(public.id), Code.NOT_FOUND, BOUND),
        _loses_access(reader, shared.id, manager_b, lambda: set_grants(shared.id, (editor.id, EDIT)), Code.NOT_FOUND, BOUND),
        _loses_access(short_lived, expiring.id, manager_b, expire, Code.UNAUTHENTICATED, HEARTBEAT_SECONDS + BOUND),
        control(),
    )


async def test_a_stream_whose_caller_keeps_access_is_not_ended(people, other_process):
    """Changing grants around a reader (adding someone) re-checks the stream and keeps it."""
    reader = people["reader"]
    experiment = await other_process.create_experiment(grants=[experiment_pb2.Grant(entity=reader.id, level=READ)])
    async with reader.watch(experiment.id) as watcher:
        await watcher.ready()
        await other_process.update_experiment(experiment.id, ["grants"], grants=[
            experiment_pb2.Grant(entity=reader.id, level=READ), experiment_pb2.Grant(entity=GROUP, level=READ)])
        later = await other_process.create_drift(experiment.id, model="later")
        assert [e.drift.id for e in await watcher.changes(1)] == [later.id]


async def test_a_change_the_log_never_heard_of_is_caught_by_the_periodic_recheck(people, second_server, direct_to, issuer, db):
    """A grant removed in the database itself (or by a server killed before its EXPERIMENT_ACCESS event):
    no event announces it, so the stream ends at its next re-check, within RECHECK plus a heartbeat."""
    from bson import ObjectId

    from tests.integration.helpers import direct_api

    reader = people["reader"]
    experiment = await people["manager"].create_experiment(grants=[experiment_pb2.Grant(entity=reader.id, level=READ)])
    watcher_api = direct_api(direct_to(second_server), READER, issuer.url)
    async with watcher_api.watch(experiment.id) as watcher:
        await watcher.ready()
        await asyncio.to_thread(db.experiments.update_one, {"_id": ObjectId(experiment.id)}, {"$set": {"grants": []}})
        changed = time.monotonic()
        events, error, ended = await _until_end(watcher, RECHECK + HEARTBEAT_SECONDS + BOUND + 5)
    assert error is not None and error.code() == Code.NOT_FOUND, error
    assert ended - changed <= RECHECK + HEARTBEAT_SECONDS + BOUND
    assert events == []
