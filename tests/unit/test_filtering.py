"""The filter compiler on its own: what each construct becomes, and what it refuses."""

import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.filtering import MAX_COMPARISONS, MAX_DEPTH, MAX_LENGTH, FieldSpec, FilterError, compile_filter

FIELDS = {
    "model": FieldSpec("model", "string"),
    "status": FieldSpec("status", "enum", ("RUNNING", "COMPLETED", "FAILED")),
    "tags": FieldSpec("tags", "string_list"),
    "create_time": FieldSpec("create_time", "time"),
    "concept_drift.detected": FieldSpec("concept_drift.detected", "bool"),
    "count": FieldSpec("stats.count", "number"),
}
PREFIXES = {
    "concept_drift.parameters": "concept_drift.parameters",
    "data_drift.parameters": "data_drift.parameters",
    "result.parameters": "result.parameters",
}
OPERATORS = {"$and", "$or", "$nor", "$ne", "$lt", "$lte", "$gt", "$gte", "$in", "$exists", "$regex", "$eq"}
JAN1 = datetime(2024, 1, 1, tzinfo=UTC)


def compile_(text: str) -> dict:
    return compile_filter(text, FIELDS, PREFIXES)


def refusal(text: str) -> str:
    with pytest.raises(FilterError) as caught:
        compile_(text)
    return str(caught.value)


@pytest.mark.parametrize("text", ["", "   ", "\t\n "])
def test_empty_filter_matches_everything(text):
    assert compile_(text) == {}


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("model = m", {"model": "m"}),
        ("model=m", {"model": "m"}),
        ("model != m", {"model": {"$ne": "m"}}),
        ("model < m", {"model": {"$lt": "m"}}),
        ("model <= m", {"model": {"$lte": "m"}}),
        ("model > m", {"model": {"$gt": "m"}}),
        ("model >= m", {"model": {"$gte": "m"}}),
        ("model:m", {"model": "m"}),
        ("count = 3", {"stats.count": 3}),
        ("count != 3", {"stats.count": {"$ne": 3}}),
        ("count < 1", {"stats.count": {"$lt": 1}}),
        ("count <= -1.5e2", {"stats.count": {"$lte": -150.0}}),
        ("count > 0.25", {"stats.count": {"$gt": 0.25}}),
        ("count >= 2", {"stats.count": {"$gte": 2}}),
        ("count:2", {"stats.count": 2}),
    ],
)
def test_every_operator(text, query):
    assert compile_(text) == query


def test_integers_stay_integers():
    assert type(compile_("count = 3")["stats.count"]) is int
    assert type(compile_("count = 3.0")["stats.count"]) is float


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('model = "a b"', "a b"),
        ("model = 'a b'", "a b"),
        ("model = 'it\\'s'", "it's"),
        ('model = "say \\"hi\\""', 'say "hi"'),
        ('model = "back\\\\slash"', "back\\slash"),
        ('model = "tab\\there"', "tab\there"),
        ('model = ""', ""),
        ("model = COMPLETED", "COMPLETED"),
        ("model = true", "true"),  # a string field keeps the literal as text
        ("model = 42", "42"),
        ('model = "AND"', "AND"),
        ("model = NOT", "NOT"),  # after an operator every word is a value
        ("model = a<b", "a<b"),
        ("model = x:y", "x:y"),
        ('model = "=x"', "=x"),
    ],
)
def test_string_literals(text, value):
    assert compile_(text) == {"model": value}


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("NOT model = m", {"$nor": [{"model": "m"}]}),
        ("-model = m", {"$nor": [{"model": "m"}]}),
        ("- model = m", {"$nor": [{"model": "m"}]}),
        ("NOT NOT model = m", {"$nor": [{"$nor": [{"model": "m"}]}]}),
        ("NOT (model = a OR model = b)", {"$nor": [{"$or": [{"model": "a"}, {"model": "b"}]}]}),
        ("NOT(model = a)", {"$nor": [{"model": "a"}]}),
        ("-(model = a)", {"$nor": [{"model": "a"}]}),
        ("model = a AND model = b", {"$and": [{"model": "a"}, {"model": "b"}]}),
        ("model = a AND model = b AND model = c", {"$and": [{"model": "a"}, {"model": "b"}, {"model": "c"}]}),
        ("model = a OR model = b", {"$or": [{"model": "a"}, {"model": "b"}]}),
        ("(model = a)", {"model": "a"}),
        ("((model = a))", {"model": "a"}),
    ],
)
def test_boolean_structure(text, query):
    assert compile_(text) == query


def test_and_binds_tighter_than_or():
    a, b, c = {"model": "a"}, {"model": "b"}, {"model": "c"}
    assert compile_("model = a OR model = b AND model = c") == {"$or": [a, {"$and": [b, c]}]}
    assert compile_("model = a AND model = b OR model = c") == {"$or": [{"$and": [a, b]}, c]}


def test_not_binds_tighter_than_and():
    assert compile_("NOT model = a AND model = b") == {"$and": [{"$nor": [{"model": "a"}]}, {"model": "b"}]}
    assert compile_("-model = a OR model = b") == {"$or": [{"$nor": [{"model": "a"}]}, {"model": "b"}]}


def test_parentheses_override_precedence():
    assert compile_("(model = a OR model = b) AND model = c") == {
        "$and": [{"$or": [{"model": "a"}, {"model": "b"}]}, {"model": "c"}]
    }
    assert compile_("model = a AND (model = b OR (model = c AND model = d))") == {
        "$and": [{"model": "a"}, {"$or": [{"model": "b"}, {"$and": [{"model": "c"}, {"model": "d"}]}]}]
    }


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("tags:x", {"tags": "x"}),
        ("tags = x", {"tags": "x"}),
        ("tags != x", {"tags": {"$ne": "x"}}),
        ('tags:"two words"', {"tags": "two words"}),
        ("tags:*", {"$and": [{"tags": {"$exists": True, "$ne": None}}, {"tags": {"$ne": []}}]}),
        ("model:*", {"$and": [{"model": {"$exists": True, "$ne": None}}, {"model": {"$ne": ""}}]}),
        ("create_time:*", {"create_time": {"$exists": True, "$ne": None}}),
        ("count:*", {"stats.count": {"$exists": True, "$ne": None}}),
        ("concept_drift.parameters.ks:*", {"concept_drift.parameters.ks": {"$exists": True, "$ne": None}}),
        ("concept_drift.detected:*", {"concept_drift.detected": {"$exists": True, "$ne": None}}),
        ("status:*", {"status": {"$exists": True, "$ne": None}}),
        ("NOT create_time:*", {"$nor": [{"create_time": {"$exists": True, "$ne": None}}]}),
        ('tags:"*"', {"tags": {"$regex": "^"}}),  # quoted: a prefix match, not presence
        ('model:"*"', {"model": {"$regex": "^"}}),  # quoted: a prefix match on the empty prefix
    ],
)
def test_has_operator(text, query):
    assert compile_(text) == query


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("model = null", {"model": None}),
        ("model:null", {"model": None}),
        ("model != null", {"model": {"$ne": None}}),
        ("create_time = null", {"create_time": None}),
        ('model = "null"', {"model": "null"}),
    ],
)
def test_null(text, query):
    assert compile_(text) == query


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ('model = "xgb*"', {"model": {"$regex": "^xgb"}}),
        ("model = xgb*", {"model": {"$regex": "^xgb"}}),
        ("model:xgb*", {"model": {"$regex": "^xgb"}}),
        ("tags:team-*", {"tags": {"$regex": "^team\\-"}}),
        ('model = "a.b(c)[d]^$|+?*"', {"model": {"$regex": "^a\\.b\\(c\\)\\[d\\]\\^\\$\\|\\+\\?"}}),
        ('model = ".*"', {"model": {"$regex": "^\\."}}),
        ('model = "a*b"', {"model": "a*b"}),  # only a trailing * is a wildcard
        ('model = "ab\\*"', {"model": "ab*"}),  # an escaped trailing * is literal
        ('concept_drift.parameters.name = "kol*"', {"concept_drift.parameters.name": {"$regex": "^kol"}}),
    ],
)
def test_prefix_wildcard(text, query):
    assert compile_(text) == query


@pytest.mark.parametrize("op", ["!=", "<", "<=", ">", ">="])
def test_wildcard_needs_equality(op):
    assert "prefix match" in refusal(f'model {op} "a*"')


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ('create_time > "2024-01-01T00:00:00Z"', JAN1),
        ("create_time > '2024-01-01T00:00:00Z'", JAN1),
        ("create_time > 2024-01-01T00:00:00Z", JAN1),
        ("create_time > 2024-01-01t00:00:00z", JAN1),
        ("create_time > 2024-01-01", JAN1),
        ('create_time > "2024-01-01"', JAN1),
        ("create_time > 2024-01-01T02:00:00+02:00", JAN1),
        ("create_time > 2023-12-31T19:00:00-05:00", JAN1),
        ("create_time > 2024-01-01T00:00:00.5Z", datetime(2024, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)),
        ("create_time > 2024-01-01T00:00:00.123456789Z", datetime(2024, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_timestamps_become_aware_utc(text, moment):
    value = compile_(text)["create_time"]["$gt"]
    assert value == moment
    assert value.tzinfo is UTC


def test_time_comparisons_and_ranges():
    assert compile_("create_time >= 2024-01-01 AND create_time < 2024-02-01") == {
        "$and": [
            {"create_time": {"$gte": JAN1}},
            {"create_time": {"$lt": datetime(2024, 2, 1, tzinfo=UTC)}},
        ]
    }
    assert compile_("create_time = 2024-01-01") == {"create_time": JAN1}
    assert compile_("create_time != 2024-01-01") == {"create_time": {"$ne": JAN1}}


@pytest.mark.parametrize(
    "value",
    ["soon", "1704067200", "true", "2024-13-01", "2024-02-30", "2024-01-01T25:00:00Z", "2024-01-01T00:00:00",
     "2024-01-01T00:00Z", "2024-01-01T00:00:00+24:00", "24-01-01", '"yesterday"', "2024-01-01T00:00:00Z*",
     "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"],  # out of datetime's range once in UTC
)
def test_time_refuses_non_timestamps(value):
    assert "RFC 3339" in refusal(f"create_time > {value}")


def test_enum():
    assert compile_("status = COMPLETED") == {"status": "COMPLETED"}
    assert compile_('status = "FAILED"') == {"status": "FAILED"}
    assert compile_("status != RUNNING") == {"status": {"$ne": "RUNNING"}}
    assert compile_("status:FAILED") == {"status": "FAILED"}


@pytest.mark.parametrize("value", ["DONE", "completed", "COMPLETED*", "1", "true", "'$ne'"])
def test_enum_refuses_other_names_and_lists_allowed(value):
    message = refusal(f"status = {value}")
    assert "RUNNING, COMPLETED, FAILED" in message
    assert "column 10" in message


def test_bool():
    assert compile_("concept_drift.detected = true") == {"concept_drift.detected": True}
    assert compile_("concept_drift.detected = false") == {"concept_drift.detected": False}
    assert compile_("concept_drift.detected != true") == {"concept_drift.detected": {"$ne": True}}
    assert compile_("concept_drift.detected:true") == {"concept_drift.detected": True}


@pytest.mark.parametrize("value", ["yes", "TRUE", "1", '"true"', "True"])
def test_bool_refuses_other_literals(value):
    assert "true or false" in refusal(f"concept_drift.detected = {value}")


@pytest.mark.parametrize("value", ["many", '"3"', "1e999", "9223372036854775808", "0x10", "nan", "inf", "1.2.3"])
def test_number_refuses_non_numbers(value):
    message = refusal(f"count = {value}")
    assert "number" in message or "out of range" in message


@pytest.mark.parametrize(
    "text", ["concept_drift.detected < true", "status > RUNNING", "tags < a", "tags >= a"]
)
def test_ordering_refused_where_meaningless(text):
    assert "cannot be ordered" in refusal(text)


def test_null_cannot_be_ordered():
    assert "null" in refusal("count > null")


def test_unknown_field_names_it_with_column_and_allowed_fields():
    message = refusal("model = a AND colour = red")
    assert "unknown field 'colour'" in message
    assert "column 15" in message
    assert "allowed: model, status, tags, create_time, concept_drift.detected, count" in message
    assert "concept_drift.parameters.<key>" in message


@pytest.mark.parametrize("name", ["Model", "stats.count", "concept_drift", "concept_drift.parameters", "$where", "_id"])
def test_only_public_names_are_fields(name):
    # Mongo paths and near misses are not public names.
    assert f"unknown field {name!r}" in refusal(f"{name} = 1")


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("concept_drift.parameters.ks.p_value < 0.05", {"concept_drift.parameters.ks.p_value": {"$lt": 0.05}}),
        ("data_drift.parameters.threshold >= 3", {"data_drift.parameters.threshold": {"$gte": 3}}),
        ("result.parameters.flag = true", {"result.parameters.flag": True}),
        ("result.parameters.flag = false", {"result.parameters.flag": False}),
        ("result.parameters.x = null", {"result.parameters.x": None}),
        ("result.parameters.method = ks", {"result.parameters.method": "ks"}),
        ('result.parameters.name = "3"', {"result.parameters.name": "3"}),
        ('result.parameters.name = "true"', {"result.parameters.name": "true"}),
        ("result.parameters.my-key_2 = -1", {"result.parameters.my-key_2": -1}),
        ("result.parameters._x:*", {"result.parameters._x": {"$exists": True, "$ne": None}}),
        ("result.parameters.a.b.c.d.e.f.g.h = 1", {"result.parameters.a.b.c.d.e.f.g.h": 1}),
    ],
)
def test_dynamic_paths_infer_the_type(text, query):
    assert compile_(text) == query


def test_dynamic_prefix_maps_to_its_mongo_path():
    query = compile_filter("p.k = 1", {}, {"p": "stored.params"})
    assert query == {"stored.params.k": 1}


@pytest.mark.parametrize(
    "name",
    [
        "result.parameters.$where",
        "result.parameters.a.$gt",
        "result.parameters.a$",
        "result.parameters.a..b",
        "result.parameters.a.",
        "result.parameters.1abc",
        "result.parameters.-a",
        "result.parameters.a.b.c.d.e.f.g.h.i",
    ],
)
def test_dynamic_paths_refuse_bad_keys(name):
    message = refusal(f"{name} = 1")
    assert "key" in message and name in message


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ('model = "$where"', {"model": "$where"}),
        ("model = $where", {"model": "$where"}),
        ('model = "{\\"$gt\\": \\"\\"}"', {"model": '{"$gt": ""}'}),
        ('model = "a\') OR (1=1"', {"model": "a') OR (1=1"}),
        ("model = $regex", {"model": "$regex"}),
        ('result.parameters.x = "$ne"', {"result.parameters.x": "$ne"}),
        ('tags:"$exists"', {"tags": "$exists"}),
        ('model = "this.a == 1 || sleep(1000)"', {"model": "this.a == 1 || sleep(1000)"}),
    ],
)
def test_injection_attempts_stay_plain_values(text, query):
    assert compile_(text) == query


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model = a model = b", "expected AND or OR"),
        ("model = a model = b", "write AND explicitly"),
        ("model = a (model = b)", "expected AND or OR"),
        ("model = a and model = b", "expected AND or OR"),  # keywords are upper case
        ("model", "expected an operator"),
        ("model m", "expected an operator"),
        ("model == m", "expected a value at column 8, found '='"),
        ("model => m", "quote values"),
        ("model = :x", "expected a value"),
        ("model ! m", "unexpected character '!'"),
        ("model =", "expected a value"),
        ("model = (a)", "expected a value"),
        ("= m", "expected a field name"),
        ('"model" = m', "expected a field name"),
        ("AND model = m", "expected a field name"),
        ("model = a AND", "expected a field name at column 14, found end of filter"),
        ("model = a OR OR model = b", "expected a field name"),
        ("NOT", "expected a field name"),
        ("()", "expected a field name"),
        ("(model = a", "missing ')'"),
        ("model = a)", "unbalanced ')'"),
        ('model = "open', "unterminated string starting at column 9"),
        ("model = 'open\\'", "unterminated string"),
    ],
)
def test_syntax_errors(text, message):
    assert message in refusal(text)


def test_errors_name_the_column():
    assert "column 19" in refusal("model = a OR model")  # the end of the text
    assert "column 1;" in refusal("colour = b")
    assert "column 24" in refusal("model = a AND status = DONE")


def test_length_limit():
    ok = "model = " + "a" * (MAX_LENGTH - len("model = "))
    assert compile_(ok) == {"model": "a" * (MAX_LENGTH - 8)}
    assert "longer than 2000" in refusal(ok + "a")


def test_comparison_limit():
    assert compile_(" AND ".join(["model = a"] * MAX_COMPARISONS))["$and"][-1] == {"model": "a"}
    assert "more than 64 comparisons" in refusal(" OR ".join(["model = a"] * (MAX_COMPARISONS + 1)))


def test_depth_limit():
    ok = "(" * MAX_DEPTH + "model = a" + ")" * MAX_DEPTH
    assert compile_(ok) == {"model": "a"}
    assert "deeper than 32" in refusal("(" + ok + ")")
    assert "deeper than 32" in refusal("NOT " * (MAX_DEPTH + 1) + "model = a")
    assert "deeper than 32" in refusal("-" * (MAX_DEPTH + 1) + "model = a")
    assert "deeper than 32" in refusal("(" * 1000)  # refused before any deep recursion


def test_field_spec_rejects_unknown_kind():
    with pytest.raises(ValueError):
        FieldSpec("x", "strng")


def _keys(query):
    if isinstance(query, dict):
        for key, value in query.items():
            yield key
            yield from _keys(value)
    elif isinstance(query, list):
        for item in query:
            yield from _keys(item)


def _assert_safe(query):
    assert isinstance(query, dict)
    for key in _keys(query):
        assert isinstance(key, str)
        assert not key.startswith("$") or key in OPERATORS, key
        assert "$" not in key or key in OPERATORS, key  # no operator hidden inside a path either


_ATOMS = [
    "model", "status", "tags", "count", "create_time", "concept_drift.detected", "result.parameters.",
    "concept_drift.parameters.a", "=", "!=", "<", "<=", ">", ">=", ":", "*", "(", ")", "AND", "OR", "NOT", "-",
    '"', "'", "\\", " ", "$", ".", "..", "$where", "$gt", "null", "true", "false", "COMPLETED", "2024-01-01",
    "2024-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "1e5", "-3", "x*", "{", "}", "\n", "é", "\x00",
]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_ATOMS), max_size=30).map("".join) | st.text(max_size=60))
def test_any_text_compiles_or_fails_cleanly(text):
    try:
        query = compile_(text)
    except FilterError:
        return
    _assert_safe(query)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_ATOMS), max_size=30).map(" ".join))
def test_spaced_atoms_compile_or_fail_cleanly(text):
    try:
        query = compile_(text)
    except FilterError:
        return
    _assert_safe(query)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_quoted_value_is_a_plain_string(value):
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    query = compile_(f'model = "{escaped}"')
    if value.endswith("*"):
        assert query == {"model": {"$regex": "^" + re.escape(value[:-1])}}
    else:
        assert query == {"model": value}
