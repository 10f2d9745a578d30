"""Snapshots of the main screens at 80x24 and 160x48, against a stack of this module's own with fixed
data (names, start times); what still varies (the server's port, run ids, creator ids) is masked.
Update after an intended change: pytest tests/tui/test_snapshots.py --snapshot-update"""

from __future__ import annotations

import pytest

from drift_monitoring import Client
from drift_monitoring.v1 import drift_pb2
from tests.tui.conftest import dashboard, drift, record, settings_for, until
from tui.screens.drift import DriftScreen
from tui.screens.experiment import ExperimentScreen
from tui.screens.experiments import ExperimentsScreen

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
SERVER = "drift.example.org:443"


@pytest.fixture(scope="module")
def fixed(private_stack, tmp_path_factory):
    """Two experiments with runs at fixed times, made once for the module."""
    settings = settings_for(private_stack.envoy, private_stack.ca_pem, private_stack.issuer, tmp_path_factory.mktemp("snap"))
    with Client(settings) as client:
        client.register()
        credit = client.new_experiment("credit-scoring", "weekly drift checks", public=True)
        client.new_experiment("churn-prediction")
        runs = []
        for i in range(30):
            status = drift_pb2.DRIFT_STATUS_FAILED if i % 11 == 5 else drift_pb2.DRIFT_STATUS_COMPLETED
            runs.append(drift(
                ("xgb-credit-v3", "lgbm-credit-v1")[i % 2], minute=i * 7, status=status, concept=(i % 4 == 0), data=(i % 3 == 0),
                tags=("weekly",) if i % 5 == 0 else (), error="TimeoutError: feature store did not answer" if status == drift_pb2.DRIFT_STATUS_FAILED else "",
                parameters={"p_value": round(0.5 - i / 70, 3), "window": 500 + 10 * i},
            ))
        record(client, credit.id, runs)
    return settings


async def listed(pilot) -> None:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, ExperimentsScreen) and len(app.screen.summaries) == 2, what="experiments with summaries")
    await until(pilot, lambda: app.user_name == "Max Manager" and app.connection == "connected", what="status")


async def opened(pilot) -> None:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, ExperimentScreen) and app.screen.first_paint is not None, what="runs")
    screen = app.screen
    await until(pilot, lambda: app.user_name == "Max Manager" and app.connection == "connected", what="status")
    # The watch is live and its catch-up listing merged: nothing left to change what is shown.
    await until(pilot, lambda: screen.feed.resume_token and not screen.dirty, what="watch live")
    await pilot.pause(0.3)


@pytest.mark.parametrize("size", SIZES)
def test_experiments_screen(snap_compare, fixed, size):
    assert snap_compare(dashboard(fixed, server_label=SERVER), terminal_size=size, run_before=listed)


@pytest.mark.parametrize("size", SIZES)
def test_experiment_screen(snap_compare, fixed, size):
    assert snap_compare(dashboard(fixed, experiment="credit-scoring", server_label=SERVER), terminal_size=size, run_before=opened)


@pytest.mark.parametrize("size", SIZES)
def test_experiment_charts(snap_compare, fixed, size):
    async def charts(pilot) -> None:
        await opened(pilot)
        await pilot.press("p", "p")  # charts open on the first numeric parameter, then the next one

    assert snap_compare(dashboard(fixed, experiment="credit-scoring", server_label=SERVER), terminal_size=size, run_before=charts)


@pytest.mark.parametrize("size", SIZES)
def test_failed_run_detail(snap_compare, fixed, size):
    async def detail(pilot) -> None:
        await opened(pilot)
        screen = pilot.app.screen
        failed = next(screen.drifts[i] for i in screen.order if screen.drifts[i].status == drift_pb2.DRIFT_STATUS_FAILED)
        masked = drift_pb2.Drift()
        masked.CopyFrom(failed)
        masked.id, masked.creator = "6750a1b2c3d4e5f6a7b8c9d0", "5d0c0ffee5d0c0ffee5d0c0ffee5d0c0"
        masked.end_time.FromDatetime(masked.start_time.ToDatetime())
        await pilot.app.push_screen(DriftScreen(masked))
        await pilot.pause()

    assert snap_compare(dashboard(fixed, experiment="credit-scoring", server_label=SERVER), terminal_size=size, run_before=detail)


def test_create_form(snap_compare, fixed):
    async def form(pilot) -> None:
        await listed(pilot)
        await pilot.press("n", *"fraud-detection")

    assert snap_compare(dashboard(fixed, server_label=SERVER), terminal_size=(80, 24), run_before=form)
