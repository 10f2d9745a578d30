"""The filter compiler on its own: what each construct becomes, and what it refuses."""

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.filtering import FieldSpec, FilterError, compile_filter

FIELDS = {
    "model": FieldSpec("model", "string"),
    "status": FieldSpec("status", "enum", ("RUNNING", "COMPLETED", "FAILED")),
    "tags": FieldSpec("tags", "string_list"),
    "create_time": FieldSpec("create_time", "time"),
    "concept_drift.detected": FieldSpec("concept_drift.detected", "bool"),
    "count": FieldSpec("count", "number"),
}
PREFIXES = {"concept_drift.parameters": "concept_drift.parameters"}
OPERATORS = {"$and", "$or", "$nor", "$ne", "$lt", "$lte", "$gt", "$gte", "$in", "$nin", "$exists", "$regex", "$eq"}


def compile_(text: str) -> dict:
    return compile_filter(text, FIELDS, PREFIXES)


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("", {}),
        ("   ", {}),
        ("model = m", {"model": "m"}),
        ('model = "a b"', {"model": "a b"}),
        ("model = 'it\\'s'", {"model": "it's"}),
        ("model != m", {"model": {"$ne": "m"}}),
        ("count < 1", {"count": {"$lt": 1.0}}),
        ("count <= -1.5e2", {"count": {"$lte": -150.0}}),
        ("count > 0", {"count": {"$gt": 0.0}}),
        ("count >= 2", {"count": {"$gte": 2.0}}),
        ("tags:x", {"tags": "x"}),
        ("tags:*", {"tags": {"$exists": True, "$nin": [None, []]}}),
        ("model:*", {"model": {"$exists": True, "$nin": [None, ""]}}),
        ("create_time:*", {"create_time": {"$exists": True, "$nin": [None]}}),
        ("model = null", {"model": None}),
        ('model = "xgb*"', {"model": {"$regex": "^xgb"}}),
        ('model = "a.b(c)*"', {"model": {"$regex": "^a\\.b\\(c\\)"}}),
        ("status = FAILED", {"status": "FAILED"}),
        ("concept_drift.detected = false", {"concept_drift.detected": False}),
        ("NOT model = m", {"$nor": [{"model": "m"}]}),
        ("-model = m", {"$nor": [{"model": "m"}]}),
        ("model = a AND model = b", {"$and": [{"model": "a"}, {"model": "b"}]}),
        ("model = a OR model = b", {"$or": [{"model": "a"}, {"model": "b"}]}),
        ("model = a OR model = b AND model = c", {"$or": [{"model": "a"}, {"$and": [{"model": "b"}, {"model": "c"}]}]}),
        ("(model = a OR model = b) AND model = c", {"$and": [{"$or": [{"model": "a"}, {"model": "b"}]}, {"model": "c"}]}),
        ("create_time > 2024-01-01", {"create_time": {"$gt": datetime(2024, 1, 1, tzinfo=UTC)}}),
        ('create_time > "2024-01-01T02:00:00+02:00"', {"create_time": {"$gt": datetime(2024, 1, 1, tzinfo=UTC)}}),
        ("concept_drift.parameters.ks.p < 0.05", {"concept_drift.parameters.ks.p": {"$lt": 0.05}}),
        ("concept_drift.parameters.flag = true", {"concept_drift.parameters.flag": True}),
        ('concept_drift.parameters.name = "3"', {"concept_drift.parameters.name": "3"}),
        ('model = "$where"', {"model": "$where"}),
        ('model = "{\\"$gt\\": 1}"', {"model": '{"$gt": 1}'}),
    ],
)
def test_compiles(text, query):
    assert compile_(text) == query


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = red", "unknown field 'colour'"),
        ("model = a model = b", "expected AND or OR"),
        ("model", "expected an operator"),
        ("model =", "expected a value"),
        ("(model = a", "missing ')'"),
        ("model = a)", "unbalanced ')'"),
        ('model = "open', "unterminated string"),
        ("status = DONE", "RUNNING, COMPLETED, FAILED"),
        ("concept_drift.detected = yes", "true or false"),
        ("count = many", "needs a number"),
        ("create_time > soon", "RFC 3339"),
        ("create_time > 2024-13-45", "RFC 3339"),
        ("tags < a", "is a list"),
        ("model < 'a*'", "prefix match"),
        ("count > null", "null"),
        ("concept_drift.parameters = 1", "unknown field"),
        ("concept_drift.parameters.$where = 1", "unknown field"),
        ("concept_drift.parameters.a.b.c.d.e.f.g.h.i = 1", "invalid key path"),
        ("x" * 2001, "longer than"),
        (" AND ".join(["model = a"] * 65), "more than 64"),
        ("(" * 33 + "model = a" + ")" * 33, "deeper than"),
        ("NOT " * 40 + "model = a", "deeper than"),
    ],
)
def test_refuses_with_a_clear_message(text, message):
    with pytest.raises(FilterError, match=None) as caught:
        compile_(text)
    assert message in str(caught.value)


def test_error_names_the_column():
    with pytest.raises(FilterError) as caught:
        compile_("model = a AND colour = b")
    assert "column 15" in str(caught.value)


def _keys(query):
    if isinstance(query, dict):
        for key, value in query.items():
            yield key
            yield from _keys(value)
    elif isinstance(query, list):
        for item in query:
            yield from _keys(item)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("model=!<>:*()\"' ANDORNOT-$.tagsxy0123456789_\\")), max_size=80) | st.text(max_size=40))
def test_any_text_compiles_or_fails_cleanly(text):
    try:
        query = compile_(text)
    except FilterError:
        return
    assert all(not key.startswith("$") or key in OPERATORS for key in _keys(query))
