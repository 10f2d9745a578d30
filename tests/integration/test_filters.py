"""The filter language end to end, over drifts and experiments with known values in the real database.

Every operator (=, !=, <, <=, >, >=, : has, :* present, AND, OR, NOT, -, parentheses), quoted and bare
literals, prefix wildcards, RFC 3339 times, free parameter paths, and injection attempts that must
be taken literally (or refused) rather than reach the database as operators.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio

from drift_monitoring.v1 import drift_pb2, experiment_pb2
from tests.integration.helpers import COMPLETED, FAILED, RUNNING, Code, expect_error, unique, walk_experiments

pytestmark = pytest.mark.asyncio(loop_scope="session")

BASE = datetime(2026, 6, 1, tzinfo=UTC)


def _result(detected: bool, parameters: dict) -> drift_pb2.DriftResult:
    result = drift_pb2.DriftResult(detected=detected)
    result.parameters.update(parameters)
    return result


# name: who records it, and the drift. Realistic detector output: a KS test per run, a data-drift
# summary for two runs, a one-verdict result for two others.
RUNS = {
    "a": ("manager", dict(
        model="xgb-credit-v1", status=COMPLETED, tags=["nightly"],
        concept_drift=_result(True, {"method": "ks", "ks": {"p_value": 0.01, "statistic": 0.31}, "window": 100, "label": "run-a"}),
        data_drift=_result(False, {"drifted_features": 0, "share": 0.0}),
    )),
    "b": ("editor", dict(
        model="xgb-credit-v2", status=COMPLETED, tags=["nightly", "prod"],
        concept_drift=_result(False, {"method": "ks", "ks": {"p_value": 0.20, "statistic": 0.08}, "window": 200, "label": "run-b"}),
        data_drift=_result(True, {"drifted_features": 3, "share": 0.3}),
    )),
    "c": ("editor", dict(
        model="lgbm-churn", status=FAILED, tags=["weekly"], error_message="out of memory",
        concept_drift=_result(False, {"method": "ks", "ks": {"p_value": 0.04, "statistic": 0.12}, "window": 300, "label": "run-c"}),
    )),
    "d": ("manager", dict(
        model="lgbm-churn", status=RUNNING, tags=[],
        concept_drift=_result(True, {"method": "ks", "ks": {"p_value": 0.50, "statistic": 0.02}, "window": 400, "label": "run-d"}),
        result=_result(True, {"score": 0.9, "thresholds": {"high": 0.8, "low": 0.2}}),
    )),
    "e": ("manager", dict(
        model="$where", status=COMPLETED, tags=["prod"],
        concept_drift=_result(False, {"method": "ks", "ks": {"p_value": 0.03, "statistic": 0.2}, "window": 500, "label": '{"$gt": ""}'}),
        result=_result(False, {"score": 0.1}),
    )),
}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def runs(people):
    """An experiment holding the five runs, each started one day after the previous one."""
    manager = people["manager"]
    grant = experiment_pb2.Grant(entity=people["editor"].id, level=experiment_pb2.ACCESS_LEVEL_EDIT)
    experiment = await manager.create_experiment(grants=[grant])
    before = datetime.now(UTC) - timedelta(seconds=1)
    ids = {}
    for day, (name, (who, fields)) in enumerate(RUNS.items()):
        drift = drift_pb2.Drift(**fields)
        drift.start_time.FromDatetime(BASE + timedelta(days=day))
        stored = await people[who].drifts.CreateDrift(drift_pb2.CreateDriftRequest(experiment_id=experiment.id, drift=drift))
        ids[stored.id] = name
    after = datetime.now(UTC) + timedelta(seconds=1)
    values = {
        "editor": people["editor"].id,
        "manager": people["manager"].id,
        "before": before.isoformat().replace("+00:00", "Z"),
        "after": after.isoformat().replace("+00:00", "Z"),
    }
    return experiment.id, ids, values


DRIFT_CASES = [
    # equality and inequality, quoted and bare
    ("model = lgbm-churn", "cd"),
    ('model = "lgbm-churn"', "cd"),
    ("model = 'lgbm-churn'", "cd"),
    ("model != lgbm-churn", "abe"),
    ('model = "xgb-credit-v1"', "a"),
    # trailing * is a prefix match
    ('model = "xgb*"', "ab"),
    ("model = xgb-credit*", "ab"),
    ('NOT model = "xgb*"', "cde"),
    # enums
    ("status = COMPLETED", "abe"),
    ("status != COMPLETED", "cd"),
    ("status = FAILED OR status = RUNNING", "cd"),
    # has, present
    ("tags:nightly", "ab"),
    ('tags:"prod"', "be"),
    ("tags:prod AND tags:nightly", "b"),
    ("tags:*", "abce"),
    ("NOT tags:*", "d"),
    ("error_message:*", "c"),
    ('error_message = "out of memory"', "c"),
    ("end_time:*", "abce"),
    ("NOT end_time:*", "d"),
    ("data_drift.parameters.drifted_features:*", "ab"),
    ("result.parameters.thresholds:*", "d"),
    # negation
    ("NOT tags:nightly", "cde"),
    ("-tags:nightly", "cde"),
    ("-(tags:nightly OR tags:prod)", "cd"),
    ("NOT (status = COMPLETED OR status = FAILED)", "d"),
    # booleans
    ("concept_drift.detected = true", "ad"),
    ("concept_drift.detected = false", "bce"),
    ("data_drift.detected = true", "b"),
    ("result.detected = true", "d"),
    # numbers in free parameter paths
    ("concept_drift.parameters.ks.p_value < 0.05", "ace"),
    ("concept_drift.parameters.ks.p_value <= 0.04", "ace"),
    ("concept_drift.parameters.ks.p_value > 0.04", "bd"),
    ("concept_drift.parameters.ks.p_value >= 0.04", "bcd"),
    ("concept_drift.parameters.ks.p_value = 0.2", "b"),
    ("concept_drift.parameters.ks.p_value != 0.2", "acde"),
    ("concept_drift.parameters.window = 300", "c"),
    ("concept_drift.parameters.window >= 300 AND concept_drift.parameters.window < 500", "cd"),
    ("data_drift.parameters.drifted_features > 2", "b"),
    ("data_drift.parameters.share <= 0.1", "a"),
    ("result.parameters.score > 0.5", "d"),
    ("result.parameters.thresholds.high = 0.8", "d"),
    # strings in parameter paths
    ('concept_drift.parameters.label = "run-b"', "b"),
    ('concept_drift.parameters.label = "run-*"', "abcd"),
    ("concept_drift.parameters.method = ks", "abcde"),
    # the recorder
    ("creator = {editor}", "bc"),
    ('creator = "{manager}" AND status = COMPLETED', "ae"),
    # times: RFC 3339 with offsets and fractions, bare dates
    ('start_time >= "2026-06-03T00:00:00Z"', "cde"),
    ("start_time < 2026-06-02", "a"),
    ("start_time = 2026-06-02T00:00:00Z", "b"),
    ("start_time > 2026-06-01T12:00:00+02:00 AND start_time <= 2026-06-03T00:00:00Z", "bc"),
    ('start_time >= "2026-06-02T00:00:00.000Z"', "bcde"),
    ('start_time < "2026-06-02T01:30:00+01:00"', "ab"),
    ('create_time > "2024-01-01T00:00:00Z"', "abcde"),
    ('create_time < "2024-01-01T00:00:00Z"', ""),
    ('create_time >= "{before}" AND create_time <= "{after}"', "abcde"),
    ('update_time >= "{before}"', "abcde"),
    ('end_time > "{after}"', ""),
    # precedence and grouping
    ("(model = lgbm-churn OR tags:prod) AND NOT status = RUNNING", "bce"),
    ("model = lgbm-churn OR tags:prod AND status = FAILED", "cd"),  # AND binds tighter than OR
    ("((tags:weekly))", "c"),
    (
        'status = COMPLETED AND concept_drift.detected = true AND start_time > "2026-01-01T00:00:00Z" '
        "AND concept_drift.parameters.ks.p_value < 0.05",
        "a",
    ),
    ("", "abcde"),
    # injection attempts are literal strings: they match only what literally equals them
    ('model = "$where"', "e"),
    ('model != "$where"', "abcd"),
    ('model = "{\\"$gt\\": \\"\\"}"', ""),
    ("model = '{\"$ne\": null}'", ""),
    ('model = "$regex"', ""),
    ('model = ".*"', ""),
    ('model = "xgb.*"', ""),
    ('model = "^xgb"', ""),
    ('model = "[a-z]*"', ""),
    ('concept_drift.parameters.label = "{\\"$gt\\": \\"\\"}"', "e"),
    ('concept_drift.parameters.label = "{\\"$ne\\": null}"', ""),
    ('error_message = "function() { return true; }"', ""),
]


@pytest.mark.parametrize(("text", "expected"), DRIFT_CASES, ids=[c[0] for c in DRIFT_CASES])
async def test_drift_filter(people, runs, text, expected):
    experiment_id, ids, values = runs
    query = text.replace("{editor}", values["editor"]).replace("{manager}", values["manager"])
    query = query.replace("{before}", values["before"]).replace("{after}", values["after"])
    page = await people["manager"].list_drifts(experiment_id, filter=query, page_size=100)
    assert "".join(sorted(ids[d.id] for d in page.drifts)) == expected


BAD_DRIFT_FILTERS = [
    "model = lgbm status = FAILED",  # side by side without AND
    "colour = red",  # not a field
    "$where = 1",
    "concept_drift.parameters.$where = 1",
    "concept_drift.parameters.$gt = 1",
    "concept_drift.parameters.ks.$ne = 1",
    "concept_drift.parameters..x = 1",
    "concept_drift.parameters. = 1",
    "status = DONE",
    "start_time > yesterday",
    'start_time > "2026-13-45T00:00:00Z"',
    "concept_drift.detected = maybe",
    "(model = lgbm",
    "model = lgbm)",
    'model = "unterminated',
    "model =",
    "= lgbm",
    "model",
    "AND",
    "NOT",
    "tags < a",
    "x" * 2001,
    " AND ".join(["model = a"] * 65),
    "(" * 40 + "model = a" + ")" * 40,
]


@pytest.mark.parametrize("text", BAD_DRIFT_FILTERS, ids=[t[:60] for t in BAD_DRIFT_FILTERS])
async def test_bad_drift_filter_is_refused_naming_filter(people, runs, text):
    experiment_id, _, _ = runs
    error = await expect_error(Code.INVALID_ARGUMENT, people["manager"].list_drifts(experiment_id, filter=text), mentions="filter")
    assert error.details().startswith("filter")


# -- experiments ---------------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def experiments(people):
    """Four experiments under one unique name prefix: two of manager's, two of editor's."""
    prefix = unique("flt")
    made = {
        "alpha": await people["manager"].create_experiment(f"{prefix}-alpha", description="credit scoring, nightly", public=True),
        "beta": await people["manager"].create_experiment(f"{prefix}-beta", description="churn"),
        "gamma": await people["editor"].create_experiment(f"{prefix}-gamma", description="credit risk", public=True),
        "delta": await people["editor"].create_experiment(f"{prefix}-delta"),
    }
    return prefix, {e.id: name for name, e in made.items()}


EXPERIMENT_CASES = [
    ("public = true", {"alpha", "gamma"}),
    ("public = false", {"beta", "delta"}),
    ("NOT public = true", {"beta", "delta"}),
    ("owner = {editor}", {"gamma", "delta"}),
    ('owner != "{editor}"', {"alpha", "beta"}),
    ('description = "credit*"', {"alpha", "gamma"}),
    ("description = churn", {"beta"}),
    ("description:*", {"alpha", "beta", "gamma"}),
    ('name = "{prefix}-a*"', {"alpha"}),
    ('name > "{prefix}-b"', {"beta", "delta", "gamma"}),
    ('name <= "{prefix}-beta"', {"alpha", "beta"}),
    ('name = "{prefix}-alpha" OR name = "{prefix}-delta"', {"alpha", "delta"}),
    ('create_time > "2024-01-01T00:00:00Z"', {"alpha", "beta", "gamma", "delta"}),
    ('create_time < "2024-01-01T00:00:00Z"', set()),
    ('update_time >= "2024-01-01"', {"alpha", "beta", "gamma", "delta"}),
    ('name = "{\\"$ne\\": null}"', set()),
    ('description = "$where"', set()),
]


@pytest.mark.parametrize(("text", "expected"), EXPERIMENT_CASES, ids=[c[0] for c in EXPERIMENT_CASES])
async def test_experiment_filter(people, experiments, text, expected):
    """As admin (who reads everything), within the test's own name prefix."""
    prefix, names = experiments
    query = text.replace("{editor}", people["editor"].id).replace("{prefix}", prefix)
    found = await walk_experiments(people["admin"], 2, filter=f'name = "{prefix}-*" AND ({query})')
    assert {names[e.id] for e in found} == expected


@pytest.mark.parametrize("text", ["model = x", "grants:foo", "owner.$where = 1", "public = maybe", "name ="])
async def test_bad_experiment_filter_is_refused(people, text):
    await expect_error(Code.INVALID_ARGUMENT, people["manager"].list_experiments(filter=text), mentions="filter")
