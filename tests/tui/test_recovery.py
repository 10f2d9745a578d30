"""The dashboard outlives a server restart: it reconnects by itself and resumes the watch from its last
token, so every event made while it was away is shown, and none twice. Uses a server and Envoy of its own."""

from __future__ import annotations

import asyncio
import uuid

from drift_monitoring import Client
from drift_monitoring.v1 import drift_pb2
from tests.tui.conftest import blocking, dashboard, drift, record, settings_for, unique, until
from tui.screens.experiment import ExperimentScreen
from tui.widgets.drift_table import DriftTable
from tui.widgets.status_bar import StatusBar


async def test_server_restart_every_event_exactly_once(private_stack, tmp_path):
    settings = settings_for(private_stack.envoy, private_stack.ca_pem, private_stack.issuer, tmp_path / "state")
    client = Client(settings)
    client.register()
    experiment = client.new_experiment(unique("tui-restart"))
    app = dashboard(settings, experiment=experiment.name)
    states: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ExperimentScreen) and app.screen.first_paint is not None, what="experiment open")
        screen: ExperimentScreen = app.screen
        bar = screen.query_one(StatusBar)
        await until(pilot, lambda: screen.feed.resume_token, what="watch live (first heartbeat)")
        before = await blocking(record, client, experiment.id, [drift(f"before-{i}", minute=i) for i in range(3)])
        table = screen.query_one(DriftTable)
        await until(pilot, lambda: table.row_count == 3, what="runs before the restart")

        restart = asyncio.ensure_future(blocking(private_stack.restart_server))
        while not restart.done():
            states.append(bar.state)
            await pilot.pause(0.05)
        await restart
        # Written as soon as the new server is up: the dashboard is likely still backing off, so these
        # arrive through the resumed watch, not the live stream it had.
        after = await blocking(record, client, experiment.id, [drift(f"after-{i}", minute=10 + i) for i in range(3)])
        for run in (before[0], after[0]):
            run.status, run.error_message = drift_pb2.DRIFT_STATUS_FAILED, "killed"
            await blocking(client.update_drift, run, ["status", "error_message"])

        await until(pilot, lambda: table.row_count == 6 and screen.events_applied == 8, timeout=30, what="all events after the restart")
        await until(pilot, lambda: bar.state == "connected", what="connected again")
        await pilot.pause(1.5)  # heartbeats come every second: room for any repeat to show up
        assert "reconnecting" in states
        assert screen.feed.reconnects >= 1
        assert screen.events_applied == 8 and screen.duplicates == 0
        models = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert sorted(models) == sorted({*models}) == sorted([f"before-{i}" for i in range(3)] + [f"after-{i}" for i in range(3)])
        failed = {str(table.get_row_at(i)[1]) for i in range(table.row_count) if str(table.get_row_at(i)[2]) == "FAILED"}
        assert failed == {"before-0", "after-0"}
    client.close()


async def test_paging_loads_more_as_you_scroll(tui_settings, client):
    experiment = client.new_experiment(unique("tui-paging"))
    requests = [drift_pb2.CreateDriftRequest(drift=drift(f"m-{i:03d}", minute=i), request_id=uuid.uuid4().hex) for i in range(250)]
    await blocking(client.call, client.drifts.BatchCreateDrifts, drift_pb2.BatchCreateDriftsRequest(experiment_id=experiment.id, requests=requests))
    app = dashboard(tui_settings, experiment=experiment.name)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ExperimentScreen) and app.screen.first_paint is not None, what="experiment open")
        table = app.screen.query_one(DriftTable)
        assert table.row_count == 100  # one server page, not everything
        for _ in range(3):
            await pilot.press("end")
            await pilot.pause(0.3)
        await until(pilot, lambda: table.row_count == 250, what="all pages")
        models = [str(table.get_row_at(i)[1]) for i in range(250)]
        assert models == [f"m-{i:03d}" for i in reversed(range(250))]  # each run once, the latest started first
        assert not app.screen.next_token
