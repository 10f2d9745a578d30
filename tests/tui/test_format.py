"""What the dashboard shows, without a terminal: formatting and chart arithmetic."""

from __future__ import annotations

from drift_monitoring.v1 import drift_pb2
from tests.tui.conftest import drift
from tui import format as fmt
from tui.widgets.charts import Point, buckets, drift_rate, parameter_series


def test_parameters_by_dotted_path_and_whole_numbers_shown_whole():
    run = drift("m", minute=0, concept=True, parameters={"p_value": 0.01, "window": {"size": 500}, "name": "ks"})
    assert fmt.parameter(run, "concept_drift.parameters.window.size") == 500
    assert fmt.parameter(run, "concept_drift.parameters.name") is None  # not a number
    assert fmt.parameter(run, "data_drift.parameters.x") is None  # no such result
    assert fmt.parameter_paths(run) == ["concept_drift.parameters.p_value", "concept_drift.parameters.window.size"]
    assert '"size": 500' in fmt.pretty(fmt.plain(run.concept_drift)["parameters"])


def test_time_is_the_start_time_and_verdicts_read_plainly():
    run = drift("m", minute=90, concept=True, data=None)
    assert fmt.stamp(fmt.when(run)) == "2026-11-01 09:30:00"
    assert (fmt.verdict(run, "concept_drift"), fmt.verdict(run, "data_drift")) == ("DRIFT", "·")
    assert fmt.detected(run) and fmt.status(run) == "COMPLETED"


def test_buckets_spread_points_over_time_and_running_runs_have_no_rate_yet():
    points = [Point(x, 1.0) for x in (0, 1, 2, 9, 10)]
    assert [len(b) for b in buckets(points, 2)] == [3, 2]
    runs = [drift("m", minute=i, concept=i % 2 == 0) for i in range(4)] + [drift("m", minute=5, status=drift_pb2.DRIFT_STATUS_RUNNING, concept=None)]
    assert [p.y for p in drift_rate(runs)] == [1.0, 0.0, 1.0, 0.0]
    series = parameter_series(runs, "concept_drift.parameters.p_value")
    assert [(p.y, p.marked) for p in series] == [(0.01, True), (0.5, False), (0.01, True), (0.5, False)]


def test_drift_monitor_tui_subcommand_starts_the_dashboard_lazily():
    import subprocess
    import sys

    from stack import ROOT

    done = subprocess.run([sys.executable, "-m", "drift_monitoring", "tui", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--experiment" in done.stdout
    # The rest of the command line must not import Textual.
    check = "import sys, drift_monitoring.cli; assert 'textual' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", check], cwd=ROOT, timeout=60).returncode == 0


def test_one_features_statistic_over_runs():
    runs = [drift("m", minute=i, data=True) for i in range(3)]
    for i, run in enumerate(runs):
        run.data_drift.features[0].statistic = 0.1 * (i + 1)
    path = "data_drift.features[age].statistic"
    assert path in fmt.feature_paths(runs[0])
    assert [round(point.y, 6) for point in parameter_series(runs, path)] == [0.1, 0.2, 0.3]
    assert fmt.parameter(runs[0], "data_drift.features[age].p_value") == 0.003
    assert fmt.parameter(runs[0], "data_drift.features[nope].statistic") is None
