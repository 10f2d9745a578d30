"""When a watch can never come back (the experiment deleted, access withdrawn, the sign-in gone), the
dashboard says why and stops reconnecting; when it was away longer than the server's event log reaches
back, it reads the runs again and watches from now."""

from __future__ import annotations

import uuid

import grpc
import pymongo
import pytest

from drift_monitoring import Client
from drift_monitoring.auth import StaticToken
from drift_monitoring.v1 import drift_pb2, drift_pb2_grpc, experiment_pb2
from stack import Envoy, Server
from tests.integration.helpers import gateway_metadata
from tests.tui.conftest import blocking, dashboard, drift, record, screen_text, settings_for, squeeze, unique, until
from tui.live import ENDED
from tui.screens.experiment import ExperimentScreen


async def opened(pilot) -> ExperimentScreen:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, ExperimentScreen) and app.screen.first_paint is not None, what="experiment open")
    screen: ExperimentScreen = app.screen
    await until(pilot, lambda: screen.feed.resume_token, what="watch live (first heartbeat)")
    return screen


async def stays_stopped(pilot, screen: ExperimentScreen, reason: str) -> None:
    await until(pilot, lambda: screen.feed.ended == reason, what="the watch ended")
    reconnects = screen.feed.reconnects
    await pilot.pause(2.0)  # backoff would have tried again by now
    assert screen.feed.reconnects == reconnects
    assert not [w for w in pilot.app.workers if w.group == "feed" and not w.is_finished]
    text = screen_text(pilot.app)
    assert squeeze(f"live updates stopped: {reason}") in text
    assert any(reason in str(n.message) for n in pilot.app._notifications)


async def test_a_deleted_experiment_stops_the_watch_and_says_so(tui_settings, client):
    experiment = client.new_experiment(unique("tui-deleted"))
    record(client, experiment.id, [drift("m", minute=1)])
    app = dashboard(tui_settings, experiment=experiment.name)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await opened(pilot)
        await blocking(client.delete_experiment, experiment.id)
        await stays_stopped(pilot, screen, ENDED[grpc.StatusCode.NOT_FOUND])


async def test_an_expired_sign_in_stops_the_watch_after_one_retry(private_stack, tmp_path):
    settings = settings_for(private_stack.envoy, private_stack.ca_pem, private_stack.issuer, tmp_path / "state")
    with Client(settings) as client:
        client.register()
        experiment = client.new_experiment(unique("tui-expired"))
    app = dashboard(settings, experiment=experiment.name)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await opened(pilot)
        # From now on the credentials give a token that expired an hour ago (Envoy allows a minute of skew),
        # as a revoked sign-in would; the open stream goes on until the server restarts under it.
        expired = private_stack.issuer.token("manager", issued_offset=-7200, lifetime=3600)
        app.backend.tokens = StaticToken(expired)
        await blocking(private_stack.restart_server)
        await stays_stopped(pilot, screen, ENDED[grpc.StatusCode.UNAUTHENTICATED])
        assert screen.feed.reconnects >= 2  # the restart, then the one retry with whatever token there is now


@pytest.mark.parametrize("withdrawn", ["grant revoked", "made private"])
async def test_access_withdrawn_mid_watch_stops_the_watch_and_says_so(tui_settings, client, envoy, ca_pem, issuer, tmp_path, withdrawn):
    """The reader watches through a grant (or because the experiment is public); the manager withdraws it.
    The server ends the open stream with NOT_FOUND (issue 15.2): the dashboard says so and stops."""
    reader = settings_for(envoy, ca_pem, issuer, tmp_path / "reader", persona="reader")
    with Client(reader) as reader_client:
        reader_id = reader_client.register().id
    public = withdrawn == "made private"
    experiment = client.new_experiment(unique("tui-withdrawn"), public=public, grants=() if public else [(reader_id, "read")])
    record(client, experiment.id, [drift("m", minute=1)])
    app = dashboard(reader, experiment=experiment.name)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await opened(pilot)
        assert screen.feed.ended == ""
        change = experiment_pb2.Experiment(id=experiment.id, public=False, grants=[])
        await blocking(client.update_experiment, change, ["public"] if public else ["grants"])
        await stays_stopped(pilot, screen, ENDED[grpc.StatusCode.NOT_FOUND])
        assert screen.feed.reconnects == 0  # it ended: no retry, not even one


def _write_while_away(target: str, experiment_id: str, claims: dict) -> None:
    """1000 runs through another server process while the dashboard's is down: a retention pass keeps 100 events."""
    with grpc.insecure_channel(target) as channel:
        drifts = drift_pb2_grpc.DriftServiceStub(channel)
        for batch in range(2):
            requests = [drift_pb2.CreateDriftRequest(drift=drift_pb2.Drift(model=f"away-{batch}-{i:03d}")) for i in range(500)]
            drifts.BatchCreateDrifts(drift_pb2.BatchCreateDriftsRequest(experiment_id=experiment_id, requests=requests),
                                     metadata=gateway_metadata(claims), timeout=120)


async def test_away_longer_than_the_log_keeps_reads_the_runs_again_and_goes_on_live(mongo_base, issuer, ca_pem, tmp_path):
    """OUT_OF_RANGE (issue 15.5) on the real stack: the dashboard's server goes away, 1000 runs are recorded
    meanwhile through another process on a server that keeps 100 events, the server comes back: the resume
    token is older than the log, so the dashboard says so, reads the runs again and watches from now."""
    name = f"dm_tui_stale_{uuid.uuid4().hex[:10]}"
    uri = f"{mongo_base}/{name}"
    options = {"DRIFT_MONITOR_EVENT_RETENTION": "100", "DRIFT_MONITOR_TRUSTED_ISSUERS": issuer.url}
    server = Server(uri, **options)
    edge = Envoy(tmp_path, "envoy", server, issuer, ca_pem.parent, "--rate-limit", "100000")
    try:
        settings = settings_for(edge, ca_pem, issuer, tmp_path / "state")
        with Client(settings) as client:
            client.register()
            experiment = client.new_experiment(unique("tui-stale"))
            record(client, experiment.id, [drift("before", minute=1)])
        app = dashboard(settings, experiment=experiment.name)
        async with app.run_test(size=(160, 40)) as pilot:
            screen = await opened(pilot)
            stale, port = screen.feed.resume_token, server.port
            await blocking(server.stop)
            other = Server(uri, **options)
            try:
                await blocking(_write_while_away, other.target, experiment.id, issuer.claims("manager"))
            finally:
                await blocking(other.stop)
            server = await blocking(lambda: Server(uri, port=port, **options))
            notice = "Away longer than the server keeps changes"
            await until(pilot, lambda: any(notice in str(n.message) for n in app._notifications), timeout=40, what="the resync notice")
            await until(pilot, lambda: any(d.model.startswith("away-") for d in screen.drifts.values()), what="the runs read again")
            await until(pilot, lambda: screen.feed.resume_token not in ("", stale), what="live from now")
            assert screen.feed.ended == ""
            with Client(settings) as client:
                await blocking(record, client, experiment.id, [drift_pb2.Drift(model="after")])  # starts now: the top of the table
            await until(pilot, lambda: any(d.model == "after" for d in screen.drifts.values()), what="a new run, live")
    finally:
        edge.stop()
        server.stop()
        pymongo.MongoClient(mongo_base).drop_database(name)
