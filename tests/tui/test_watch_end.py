"""When a watch can never come back (the experiment deleted, access withdrawn, the sign-in gone), the
dashboard says why and stops reconnecting; when it was away longer than the server's event log reaches
back, it reads the runs again and watches from now."""

from __future__ import annotations

import grpc
import pytest

from drift_monitoring import Client
from drift_monitoring.auth import StaticToken
from drift_monitoring.v1 import experiment_pb2
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
