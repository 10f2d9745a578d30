"""Per-feature conditions: how the compiler groups them (same element within one AND chain), and the
server's own check of them (element_match.py), which stands in for $elemMatch that FerretDB v1 cannot run."""

from __future__ import annotations

import re

import pytest

from server.element_match import split
from server.filtering import FilterError, compile_filter
from server.services.drifts import FILTER_FIELDS, FILTER_LISTS, FILTER_PREFIXES
from stack import ROOT

FILTERS_DOC = (ROOT / "docs" / "api.md").read_text().split("## Filters", 1)[1].split("\n## ", 1)[0]


def compile_(text: str) -> dict:
    return compile_filter(text, FILTER_FIELDS, FILTER_PREFIXES, FILTER_LISTS)


def em(path: str, inner: dict) -> dict:
    return {path: {"$elemMatch": inner}}


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ('data_drift.features.feature = "age"', em("data_drift.features", {"feature": "age"})),
        (
            'data_drift.features.feature = "age" AND data_drift.features.detected = true',
            em("data_drift.features", {"feature": "age", "detected": True}),
        ),
        (  # one AND chain: the same element, however the other conditions are interleaved
            'data_drift.features.feature = age AND status = COMPLETED AND data_drift.features.p_value < 0.05',
            {"$and": [em("data_drift.features", {"feature": "age", "p_value": {"$lt": 0.05}}), {"status": "COMPLETED"}]},
        ),
        (  # a member named twice: $and inside the one $elemMatch
            "data_drift.features.statistic > 0.1 AND data_drift.features.statistic < 0.5",
            em("data_drift.features", {"$and": [{"statistic": {"$gt": 0.1}}, {"statistic": {"$lt": 0.5}}]}),
        ),
        (  # own parentheses: their own element
            'data_drift.features.feature = age AND (data_drift.features.detected = true)',
            {"$and": [em("data_drift.features", {"feature": "age"}), em("data_drift.features", {"detected": True})]},
        ),
        (  # NOT: no element matches
            "NOT concept_drift.features.detected = true",
            {"$nor": [em("concept_drift.features", {"detected": True})]},
        ),
        (  # different lists never share an element
            "data_drift.features.detected = true AND concept_drift.features.detected = true",
            {"$and": [em("data_drift.features", {"detected": True}), em("concept_drift.features", {"detected": True})]},
        ),
        ('result.features.feature = "ag*"', em("result.features", {"feature": {"$regex": "^ag"}})),
        ("result.features.p_value = null", em("result.features", {"p_value": None})),
    ],
)
def test_grouping(text, query):
    assert compile_(text) == query


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("data_drift.features = x", "data_drift.features at column 1 is a list of results"),
        ("data_drift.features.weight > 1", "unknown field 'data_drift.features.weight' at column 1"),
        ("data_drift.features.p_value > 'x'", "needs a number"),
        ("model = a OR data_drift.features.detected = true", "cannot be under OR"),
        ("(model = a OR data_drift.features.detected = true) AND status = FAILED", "cannot be under OR"),
        ("NOT NOT data_drift.features.detected = true", "negated together"),
        ("NOT (model = a AND data_drift.features.detected = true)", "negated together"),
    ],
)
def test_misuse_is_refused(text, says):
    with pytest.raises(FilterError, match=None) as caught:
        compile_(text)
    assert says in str(caught.value)


def drift(*features: dict) -> dict:
    return {"data_drift": {"features": list(features)}}


AGE = {"feature": "age", "test": "ks", "statistic": 0.4, "p_value": 0.001, "threshold": None, "detected": True}
INCOME = {"feature": "income", "test": "ks", "statistic": 1.0, "p_value": None, "threshold": 0.05, "detected": False}


@pytest.mark.parametrize(
    ("text", "doc", "kept"),
    [
        ('data_drift.features.feature = "age" AND data_drift.features.detected = true', drift(AGE, INCOME), True),
        ('data_drift.features.feature = "income" AND data_drift.features.detected = true', drift(AGE, INCOME), False),
        ("data_drift.features.statistic = 1", drift(INCOME), True),  # int literal, float stored
        ("data_drift.features.statistic = 1", drift({**INCOME, "statistic": True}), False),  # a bool is no number
        ("data_drift.features.detected = true", drift({**AGE, "detected": 1}), False),
        ("data_drift.features.p_value = null", drift(INCOME), True),
        ("data_drift.features.p_value:*", drift(INCOME), False),
        ("data_drift.features.p_value < 1", drift(INCOME), False),  # null is not below anything
        ("data_drift.features.threshold != null", drift(INCOME), True),
        ('data_drift.features.feature = "inc*"', drift(AGE, INCOME), True),
        ('data_drift.features.feature = "a.e*"', drift(AGE), False),  # the prefix is literal
        ('data_drift.features.feature > "b"', drift(AGE, INCOME), True),
        ('data_drift.features.feature:*', drift({**AGE, "feature": ""}), False),
        ("NOT data_drift.features.detected = true", drift(INCOME), True),
        ("NOT data_drift.features.detected = true", {"data_drift": None}, True),
        ("data_drift.features.detected = false", {"model": "m"}, False),
        ("data_drift.features.detected = false", {"data_drift": {"features": "junk"}}, False),
    ],
)
def test_the_servers_check(text, doc, kept):
    database, keep = split(compile_(text))
    assert "$elemMatch" not in str(database)
    assert keep is not None and keep(doc) is kept


def test_the_database_gets_a_superset_it_can_run():
    database, _ = split(compile_('model = m AND data_drift.features.feature = "age" AND data_drift.features.p_value != 0.5'))
    # $ne on a dotted array path means "no element equals": not a superset, so it stays with the server.
    assert database == {"model": "m", "data_drift.features.feature": "age"}
    database, _ = split(compile_("NOT data_drift.features.detected = true AND model = m"))
    assert database == {"model": "m"}


def test_filters_without_features_are_untouched():
    query = compile_("model = m OR status = FAILED")
    assert split(query) == (query, None)


@pytest.mark.parametrize("text", FILTERS_DOC.split("```")[1].strip().splitlines())
def test_the_documented_examples_compile(text):
    compile_(text)


def test_the_documented_per_feature_examples_mean_what_the_docs_say():
    said = " ".join(FILTERS_DOC.split("**Per-feature results.**", 1)[1].split())
    examples = [e for e in re.findall(r"`([^`]+)`", said) if ".features." in e and (" = " in e or ":*" in e or " > " in e)]
    assert len(examples) >= 5, examples
    for text in examples:
        if text.startswith("data_drift.features = "):
            continue
        compile_(text)
    age_and_status = 'data_drift.features.feature = "age" AND status = COMPLETED AND data_drift.features.detected = true'
    assert age_and_status in said
    assert compile_(age_and_status) == {"$and": [em("data_drift.features", {"feature": "age", "detected": True}), {"status": "COMPLETED"}]}
