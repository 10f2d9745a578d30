"""A run whose job stopped heartbeating turns LOST while the dashboard watches, shown apart from the rest."""

from __future__ import annotations

from drift_monitoring.v1 import drift_pb2
from tests.tui.conftest import dashboard, drift, record, screen_text, squeeze, unique, until
from tests.tui.test_pilot import open_experiment, rows
from tui.screens.drift import DriftScreen
from tui.widgets.drift_table import STATUS_STYLE, DriftTable


async def test_a_lost_run_is_shown_apart(tui_settings, client):
    experiment = client.new_experiment(unique("tui-lost"))
    quiet = drift("quiet-job", minute=2, status=drift_pb2.DRIFT_STATUS_RUNNING, concept=None)
    _, quiet = record(client, experiment.id, [drift("done-job", minute=1), quiet])
    app = dashboard(tui_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_experiment(pilot, experiment.name)
        table = screen.query_one(DriftTable)
        assert rows(table)[0][1:3] == ["quiet-job", "RUNNING"]
        # The lease starts only now, on screen (a lease given at creation could expire before the screen
        # opened on a loaded machine): one renewal of 1 s, and nobody renews it again.
        client.renew_lease(experiment.id, quiet.id, lease_seconds=1)
        # The session's server sweeps every 10 s (DRIFT_MONITOR_LEASE_SWEEP_SECONDS): the watch brings the change.
        await until(pilot, lambda: rows(table)[0][2] == "LOST", timeout=30, what="the run turning LOST on screen")
        style = table.get_row_at(0)[2].style
        assert style == STATUS_STYLE["LOST"] and list(STATUS_STYLE.values()).count(style) == 1
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DriftScreen), what="run opened")
        await pilot.pause()
        assert app.screen.query_one("#lost") and squeeze("lease expired") in screen_text(app)
