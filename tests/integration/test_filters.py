"""The filter language end to end, over drifts with known values stored in the real database."""

from datetime import UTC, datetime, timedelta

import pytest

from drift_monitoring.v1 import drift_pb2
from tests.integration.helpers import Code, expect_error

BASE = datetime(2026, 6, 1, tzinfo=UTC)
# name: (model, status, tags, concept detected, ks p-value, day offset)
RUNS = {
    "a": ("xgb-v1", drift_pb2.DRIFT_STATUS_COMPLETED, ["nightly"], True, 0.01, 0),
    "b": ("xgb-v2", drift_pb2.DRIFT_STATUS_COMPLETED, ["nightly", "prod"], False, 0.20, 1),
    "c": ("lgbm", drift_pb2.DRIFT_STATUS_FAILED, ["weekly"], False, 0.04, 2),
    "d": ("lgbm", drift_pb2.DRIFT_STATUS_RUNNING, [], True, 0.50, 3),
    "e": ("$where", drift_pb2.DRIFT_STATUS_COMPLETED, ["prod"], False, 0.03, 4),
}


@pytest.fixture(scope="module")
def runs(people):
    manager = people["manager"]
    experiment = manager.create_experiment()
    ids = {}
    for name, (model, status, tags, detected, p_value, day) in RUNS.items():
        drift = drift_pb2.Drift(model=model, status=status, tags=tags, error_message="oom" if status == drift_pb2.DRIFT_STATUS_FAILED else "")
        drift.start_time.FromDatetime(BASE + timedelta(days=day))
        drift.concept_drift.detected = detected
        drift.concept_drift.parameters.update({"ks": {"p_value": p_value}, "window": 100 * (day + 1), "label": f"run-{name}"})
        ids[manager.create_drift(experiment.id, **{f: getattr(drift, f) for f in ("model", "status", "tags", "error_message", "start_time", "concept_drift")}).id] = name
    return experiment.id, ids


CASES = [
    ('model = lgbm', "cd"),
    ('model != lgbm', "abe"),
    ('model = "xgb*"', "ab"),
    ("status = COMPLETED", "abe"),
    ("status = FAILED OR status = RUNNING", "cd"),
    ("tags:nightly", "ab"),
    ("tags:prod AND tags:nightly", "b"),
    ("NOT tags:nightly", "cde"),
    ("-tags:nightly", "cde"),
    ("error_message:*", "c"),
    ("tags:*", "abce"),
    ("concept_drift.parameters.ks:*", "abcde"),
    ("concept_drift.detected = true", "ad"),
    ("concept_drift.parameters.ks.p_value < 0.05", "ace"),
    ("concept_drift.parameters.ks.p_value <= 0.04", "ace"),
    ("concept_drift.parameters.ks.p_value > 0.04", "bd"),
    ("concept_drift.parameters.ks.p_value >= 0.04", "bcd"),
    ("concept_drift.parameters.window = 300", "c"),
    ('concept_drift.parameters.label = "run-b"', "b"),
    ('start_time >= "2026-06-03T00:00:00Z"', "cde"),
    ("start_time < 2026-06-02", "a"),
    ("start_time > 2026-06-01T12:00:00+02:00 AND start_time <= 2026-06-03T00:00:00Z", "bc"),
    ("(model = lgbm OR tags:prod) AND NOT status = RUNNING", "bce"),
    ("model = lgbm OR tags:prod AND status = FAILED", "cd"),  # AND binds tighter than OR
    ('model = "$where"', "e"),
    ('model = "{\\"$gt\\": \\"\\"}"', ""),
    ('model = "$regex"', ""),
    ('model = ".*"', ""),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_filter(people, runs, text, expected):
    experiment_id, ids = runs
    page = people["manager"].list_drifts(experiment_id, filter=text, page_size=100)
    assert "".join(sorted(ids[d.id] for d in page.drifts)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "model = lgbm status = FAILED",
        "colour = red",
        "concept_drift.parameters.$where = 1",
        "concept_drift.parameters..x = 1",
        "status = DONE",
        "start_time > yesterday",
        "concept_drift.detected = maybe",
        "(model = lgbm",
        "model = lgbm)",
        'model = "unterminated',
        "tags < a",
        "x" * 2001,
        " AND ".join(["model = a"] * 65),
        "(" * 40 + "model = a" + ")" * 40,
    ],
)
def test_bad_filters_name_the_problem(people, runs, text):
    experiment_id, _ = runs
    expect_error(Code.INVALID_ARGUMENT, lambda: people["manager"].list_drifts(experiment_id, filter=text), mentions="filter")
