"""Pilot tests: the dashboard driven by keys against the real stack (Envoy, TLS, tokens, FerretDB)."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys

from textual.widgets import DataTable, Input

from drift_monitoring.v1 import drift_pb2
from stack import ROOT
from tests.tui.conftest import blocking, dashboard, drift, record, screen_text, squeeze, unique, until
from tui import format as fmt
from tui.screens.drift import DriftScreen
from tui.screens.experiment import ExperimentScreen
from tui.screens.experiments import ExperimentsScreen
from tui.widgets.drift_table import DriftTable
from tui.widgets.status_bar import StatusBar


def rows(table: DataTable) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def open_experiment(pilot, name: str) -> ExperimentScreen:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, ExperimentsScreen) and app.screen.experiments, what="experiments listed")
    await pilot.press("slash", *name, "enter")
    table = app.screen.query_one("#experiments", DataTable)
    await until(pilot, lambda: table.row_count == 1, what=f"search narrowed to {name}")
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, ExperimentScreen) and app.screen.first_paint is not None, what="runs shown")
    return app.screen


async def test_navigate_shows_user_connection_and_runs(tui_settings, client):
    experiment = client.new_experiment(unique("tui-nav"))
    record(client, experiment.id, [drift("model-a", minute=1), drift("model-b", minute=2, concept=True, tags=("weekly",))])
    app = dashboard(tui_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_experiment(pilot, experiment.name)
        bar = screen.query_one(StatusBar)
        await until(pilot, lambda: bar.user == "Max Manager" and bar.state == "connected", what="status bar")
        table = screen.query_one(DriftTable)
        shown = rows(table)
        assert [r[1] for r in shown] == ["model-b", "model-a"]  # newest first
        assert shown[0][0] == "2026-11-01 08:02:00" and shown[0][2] == "COMPLETED" and shown[0][3] == "DRIFT" and shown[0][5] == "weekly"
        await pilot.press("escape")
        assert isinstance(app.screen, ExperimentsScreen)


async def test_filter_uses_the_server_language_and_reports_errors(tui_settings, client):
    experiment = client.new_experiment(unique("tui-filter"))
    record(client, experiment.id, [
        drift("ok-model", minute=1),
        drift("bad-model", minute=2, status=drift_pb2.DRIFT_STATUS_FAILED, concept=None, error="ValueError: no data"),
        drift("ok-model", minute=3, concept=True),
    ])
    app = dashboard(tui_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_experiment(pilot, experiment.name)
        table = screen.query_one(DriftTable)
        assert table.row_count == 3
        await pilot.press("f", *"status = FAILED", "enter")
        await until(pilot, lambda: table.row_count == 1, what="filtered to the failed run")
        assert rows(table)[0][1:3] == ["bad-model", "FAILED"]
        screen.query_one("#filter", Input).value = ""
        await pilot.press("f", *"concept_drift.detected = true AND model = ok*", "enter")
        await until(pilot, lambda: table.row_count == 1 and rows(table)[0][0].endswith("08:03:00"), what="filtered to the drifted run")
        # A filter the server refuses is a notification naming the field, not a traceback.
        screen.query_one("#filter", Input).value = ""
        await pilot.press("f", *"nonsense ==", "enter")
        await until(pilot, lambda: any("filter" in str(n.message) for n in app._notifications), what="error notification")
        assert isinstance(app.screen, ExperimentScreen)


async def test_sort_cycles_server_orders(tui_settings, client):
    experiment = client.new_experiment(unique("tui-sort"))
    record(client, experiment.id, [drift("b-model", minute=1), drift("a-model", minute=2), drift("c-model", minute=3)])
    app = dashboard(tui_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_experiment(pilot, experiment.name)
        table = screen.query_one(DriftTable)
        assert [r[1] for r in rows(table)] == ["c-model", "a-model", "b-model"]
        await pilot.press("s")  # start_time ascending
        await until(pilot, lambda: [r[1] for r in rows(table)] == ["b-model", "a-model", "c-model"], what="oldest first")
        await pilot.press("s", "s", "s")  # create_time desc, update_time desc, model
        await until(pilot, lambda: screen.order_by == "model" and [r[1] for r in rows(table)] == ["a-model", "b-model", "c-model"], what="by model")


def time_column(table: DriftTable) -> tuple[str, list[str]]:
    return str(table.columns["time"].label), [r[0] for r in rows(table)]


async def test_the_time_column_shows_the_time_the_runs_are_ordered_by(tui_settings, client):
    experiment = client.new_experiment(unique("tui-time"))
    # Recorded in the opposite order of their start times: stored (create_time) order is not start order.
    record(client, experiment.id, [drift(f"m-{minute}", minute=minute) for minute in (3, 1, 2)])
    app = dashboard(tui_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_experiment(pilot, experiment.name)
        table = screen.query_one(DriftTable)
        label, times = time_column(table)
        assert label == "Started" and times == ["2026-11-01 08:03:00", "2026-11-01 08:02:00", "2026-11-01 08:01:00"]
        await until(pilot, lambda: screen.feed.resume_token, what="watch live")
        # A run that started between the shown ones (a job's spool synced late) goes where it ran, not on top.
        await blocking(record, client, experiment.id, [drift("late", minute=2.5), drift("newest", minute=9)])
        await until(pilot, lambda: table.row_count == 5, what="live runs placed")
        assert [r[1] for r in rows(table)] == ["newest", "m-3", "late", "m-2", "m-1"]
        await pilot.press("s", "s")  # start_time, then create_time desc: the column shows when the server stored each run
        await until(pilot, lambda: screen.order_by == "create_time desc" and time_column(table)[0] == "Created", what="created column")
        await until(pilot, lambda: [r[1] for r in rows(table)] == ["newest", "late", "m-2", "m-1", "m-3"], what="stored order")
        created = {d.model: fmt.stamp(d.create_time.ToDatetime(dt.timezone.utc)) for d in screen.drifts.values()}
        assert [r[0] for r in rows(table)] == [created[r[1]] for r in rows(table)]


async def test_open_a_failed_run_shows_parameters_features_and_error(tui_settings, client):
    experiment = client.new_experiment(unique("tui-detail"))
    record(client, experiment.id, [
        drift("detail-model", minute=5, status=drift_pb2.DRIFT_STATUS_FAILED, concept=True, data=True,
              error="RuntimeError: the feature store timed out", parameters={"p_value": 0.01, "window": {"size": 500}}),
    ])
    app = dashboard(tui_settings)
    async with app.run_test(size=(120, 50)) as pilot:
        await open_experiment(pilot, experiment.name)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DriftScreen), what="run opened")
        screen = app.screen
        await pilot.pause()
        text = screen_text(app)
        for expected in ("RuntimeError: the feature store timed out", '"size": 500', "age", "ks", "DRIFT DETECTED", "detail-model"):
            assert squeeze(expected) in text, expected
        assert screen.query_one("#error")
        await pilot.press("escape")
        assert isinstance(app.screen, ExperimentScreen)


async def test_create_experiment(tui_settings, client):
    name = unique("tui-created")
    app = dashboard(tui_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ExperimentsScreen) and app.screen.experiments is not None, what="experiments")
        await pilot.press("n")
        await until(pilot, lambda: app.screen.query("#name"), what="form")
        await pilot.press(*name, "tab", *"made in the dashboard", "tab", "space", "tab", "enter")
        screen = app.screen
        await until(pilot, lambda: any(e.name == name for e in screen.experiments), what="new experiment listed")
    made = client.find_experiment(name)
    assert made.description == "made in the dashboard" and made.public


async def test_run_recorded_by_drift_monitor_in_another_process_appears_live(tui_settings, client):
    experiment = client.new_experiment(unique("tui-live"))
    app = dashboard(tui_settings)
    job = (
        "import time\n"
        "from drift_monitoring import DriftMonitor\n"
        "with DriftMonitor(EXPERIMENT, 'live-model', url=URL, ca_bundle=CA, token=TOKEN, state_dir=STATE) as m:\n"
        "    time.sleep(1.0)\n"
        "    m.concept(True, {'p_value': 0.001})\n"
    )
    s = tui_settings
    env_code = f"EXPERIMENT={experiment.name!r}; URL={s.url!r}; CA={s.ca_bundle!r}; TOKEN={s.token!r}; STATE={str(s.state_dir)!r}\n"
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_experiment(pilot, experiment.name)
        table = screen.query_one(DriftTable)
        assert table.row_count == 0
        process = subprocess.Popen([sys.executable, "-c", env_code + job], cwd=ROOT)
        await until(pilot, lambda: table.row_count == 1 and rows(table)[0][2] == "RUNNING", timeout=30, what="the run, RUNNING")
        await until(pilot, lambda: rows(table)[0][2] == "COMPLETED" and rows(table)[0][3] == "DRIFT", timeout=30, what="the run, COMPLETED")
        assert await blocking(process.wait, 30) == 0
        assert table.row_count == 1 and screen.duplicates == 0


async def test_command_palette_opens_an_experiment_and_charts_draw(tui_settings, client):
    experiment = client.new_experiment(unique("tui-palette"))
    record(client, experiment.id, [drift("pal-model", minute=i, concept=i % 2 == 0, parameters={"p_value": i / 10}) for i in range(8)])
    app = dashboard(tui_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ExperimentsScreen) and app.screen.experiments, what="experiments listed")
        await pilot.press("ctrl+p")
        await pilot.press(*f"Open {experiment.name}")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ExperimentScreen) and app.screen.first_paint is not None, what="opened from the palette")
        screen = app.screen
        assert screen.experiment.id == experiment.id
        await pilot.press("p")  # the first numeric parameter, charts shown
        await pilot.pause()
        assert screen.parameter == "concept_drift.parameters.p_value"
        text = screen_text(app)
        assert squeeze("concept_drift.parameters.p_value over time") in text and "●" in text and "8loadedruns" in text


async def test_unreachable_server_is_a_notification_not_a_traceback(tui_settings, tmp_path):
    from dataclasses import replace

    from stack import free_port

    settings = replace(tui_settings, url=f"localhost:{free_port()}", timeout=1)
    app = dashboard(settings)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app._notifications and app.connection == "offline", what="offline notification")
        assert isinstance(app.screen, ExperimentsScreen)
        assert "offline" in screen_text(app)


async def test_run_detail_sorts_features_by_statistic_with_the_test(tui_settings, client):
    experiment = client.new_experiment(unique("tui-features"))
    run = drift("sorted-model", minute=6, data=True)
    del run.data_drift.features[:]
    for name, test, statistic in (("zz_low", "psi", 0.02), ("mm_high", "wasserstein", 0.9), ("aa_mid", "ks", 0.3)):
        run.data_drift.features.add(feature=name, test=test, statistic=statistic, threshold=0.1, detected=statistic > 0.1)
    record(client, experiment.id, [run])
    app = dashboard(tui_settings)
    async with app.run_test(size=(120, 50)) as pilot:
        await open_experiment(pilot, experiment.name)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DriftScreen), what="run opened")
        await pilot.pause()
        text = screen_text(app)
        order = [text.index(squeeze(name)) for name in ("mm_high", "aa_mid", "zz_low")]
        assert order == sorted(order), text  # largest statistic first, whatever order they were recorded in
        assert re.search(r"mm_high\W*wasserstein\W*0\.9", text) and re.search(r"zz_low\W*psi\W*0\.02", text), text


async def test_the_experiment_view_charts_one_features_statistic_over_runs(tui_settings, client):
    from tui.widgets.charts import PointChart

    experiment = client.new_experiment(unique("tui-feature-chart"))
    runs = []
    for minute in range(4):
        run = drift("chart-model", minute=minute + 1, data=True)
        run.data_drift.features[0].statistic = 0.1 * (minute + 1)
        runs.append(run)
    record(client, experiment.id, runs)
    app = dashboard(tui_settings)
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await open_experiment(pilot, experiment.name)
        path = "data_drift.features[age].statistic"
        for _ in range(10):  # p cycles through the numeric parameters, then each feature's statistic
            await pilot.press("p")
            await pilot.pause()
            if screen.parameter == path:
                break
        assert screen.parameter == path
        points = screen.query_one("#parameter", PointChart).points
        assert sorted(round(point.y, 6) for point in points) == [0.1, 0.2, 0.3, 0.4]
        assert f"{path} over time" in str(screen.query_one("#parameter-title").render())
