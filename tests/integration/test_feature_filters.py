"""Per-feature results in the filter language, end to end through the edge on the real database.

Conditions on one features list joined by AND hold for the same feature (element match, docs/api.md
*Filters*); in their own parentheses or under NOT each is its own "some feature ...". FerretDB v1 cannot run
$elemMatch on sub-documents, so the server checks those itself (server/element_match.py): these cases
are chosen so that an "any feature" answer, or FerretDB's own $elemMatch, would give a different result.
"""

from __future__ import annotations

import pytest
import pytest_asyncio

from drift_monitoring.v1 import drift_pb2
from tests.integration.helpers import COMPLETED, Code, expect_error

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _features(*rows: tuple[str, float, float | None, bool]) -> drift_pb2.DriftResult:
    result = drift_pb2.DriftResult(detected=any(row[3] for row in rows))
    for feature, statistic, p_value, detected in rows:
        item = result.features.add(feature=feature, test="ks", statistic=statistic, detected=detected)
        if p_value is not None:
            item.p_value = p_value
    return result


# a: age drifted. b: age did not, income did (any-feature matching would wrongly put b with a).
# c: nothing drifted, one p-value missing. d: concept drift per feature only. e: no per-feature results.
RUNS = {
    "a": dict(data_drift=_features(("age", 0.41, 0.001, True), ("income", 0.05, 0.6, False))),
    "b": dict(data_drift=_features(("age", 0.04, 0.7, False), ("income", 0.38, 0.002, True))),
    "c": dict(data_drift=_features(("age", 0.02, 0.9, False), ("agency", 0.035, None, False))),
    "d": dict(concept_drift=_features(("label", 0.5, 0.0001, True))),
    "e": dict(),
}

CASES = [
    ('data_drift.features.feature = "age" AND data_drift.features.detected = true', "a"),
    ('data_drift.features.feature = "income" AND data_drift.features.detected = true', "b"),
    ('data_drift.features.feature = "age" AND data_drift.features.p_value < 0.01', "a"),
    ('data_drift.features.feature = "age" AND data_drift.features.statistic >= 0.04 AND data_drift.features.statistic < 0.5', "ab"),
    ("data_drift.features.statistic > 0.03 AND data_drift.features.statistic < 0.045", "bc"),  # one feature in (0.03, 0.045)
    ("data_drift.features.detected = true", "ab"),
    ("data_drift.features.detected != true", "abc"),  # some feature not detected
    ("NOT data_drift.features.detected = true", "cde"),  # no feature detected (also: none recorded)
    ('NOT (data_drift.features.feature = "age" AND data_drift.features.detected = true)', "bcde"),
    # own parentheses: separate features may match (b: age is there, and some feature detected)
    ('data_drift.features.feature = "age" AND (data_drift.features.detected = true)', "ab"),
    ('data_drift.features.feature = "ag*"', "abc"),
    ('data_drift.features.feature = "ag*" AND data_drift.features.p_value = null', "c"),
    ('data_drift.features.feature = "agency" AND data_drift.features.p_value:*', ""),
    ("data_drift.features.feature:* AND data_drift.features.p_value:*", "abc"),
    ('data_drift.features.test = ks AND data_drift.features.p_value <= 0.002', "ab"),
    ("concept_drift.features.detected = true AND concept_drift.features.p_value < 0.001", "d"),
    ("result.features.detected = true", ""),
    ('status = COMPLETED AND data_drift.features.feature = "income" AND data_drift.features.detected = false', "a"),
    ('data_drift.features.feature = "age" AND data_drift.features.detected = true AND NOT concept_drift.features.detected = true', "a"),
]

BAD = [
    ("data_drift.features = age", "is a list of results"),
    ("data_drift.features:*", "is a list of results"),
    ("data_drift.features.colour = red", "data_drift.features has data_drift.features.feature"),
    ("data_drift.features.feature.x = 1", "unknown field"),
    ("data_drift.features.p_value < low", "needs a number"),
    ("data_drift.features.detected = yes", "must be true or false"),
    ("data_drift.features.detected > false", "cannot be ordered"),
    ('status = FAILED OR data_drift.features.feature = "age"', "cannot be under OR"),
    ('NOT (status = FAILED AND data_drift.features.feature = "age")', "cannot be under OR, or negated together"),
]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def runs(people):
    manager = people["manager"]
    experiment = await manager.create_experiment()
    ids = {}
    for name, fields in RUNS.items():
        stored = await manager.drifts.CreateDrift(
            drift_pb2.CreateDriftRequest(experiment_id=experiment.id, drift=drift_pb2.Drift(model=f"m-{name}", status=COMPLETED, **fields))
        )
        ids[stored.id] = name
    return experiment.id, ids


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
async def test_feature_filter(people, runs, text, expected):
    experiment_id, ids = runs
    page = await people["manager"].list_drifts(experiment_id, filter=text, page_size=100)
    assert "".join(sorted(ids[d.id] for d in page.drifts)) == expected
    assert page.next_page_token == ""


@pytest.mark.parametrize("order_by", ["", "create_time", "model desc"])
async def test_feature_filter_pages_without_gaps_or_repeats(people, runs, order_by):
    experiment_id, ids = runs
    seen, token = [], ""
    while True:
        page = await people["manager"].list_drifts(
            experiment_id, filter="data_drift.features.detected != true", order_by=order_by, page_size=1, page_token=token
        )
        seen += [ids[d.id] for d in page.drifts]
        token = page.next_page_token
        if not token:
            break
    assert sorted(seen) == list("abc")
    assert len(seen) == 3


@pytest.mark.parametrize(("text", "says"), BAD, ids=[b[0] for b in BAD])
async def test_misused_feature_filter_is_refused_naming_filter(people, runs, text, says):
    experiment_id, _ = runs
    error = await expect_error(Code.INVALID_ARGUMENT, people["manager"].list_drifts(experiment_id, filter=text), mentions="filter")
    assert error.details().startswith("filter: ") and says in error.details(), error.details()


async def test_a_stranger_learns_nothing_through_a_feature_filter(people, runs):
    experiment_id, _ = runs
    text = 'data_drift.features.feature = "age" AND data_drift.features.detected = true'
    await expect_error(Code.NOT_FOUND, people["outsider"].list_drifts(experiment_id, filter=text))
