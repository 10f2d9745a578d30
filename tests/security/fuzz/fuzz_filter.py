"""atheris target: the filter language compiler, on the drift fields (the richest set, with dynamic keys).

    python tests/security/fuzz/fuzz_filter.py CORPUS_DIR -runs=2000

Properties: any text either compiles or raises FilterError (nothing else); what compiles is a query made
only of the documented operators, keys that are whitelisted fields or validated parameter paths (inside an
$elemMatch: the list's declared members only), and regexes that are anchored, escaped prefixes; every
element match sits where the server can split it off (server/element_match.py), and checking a drift with
per-feature results against it raises nothing. test_fuzz.py runs this a bounded number of times in CI.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

with atheris.instrument_imports():  # the parser only: instrumenting grpc and pymongo would take minutes
    from server.filtering import FilterError, compile_filter
    from server.element_match import as_check, conjuncts, contains_element_match, split
from server.services.drifts import FEATURE_MEMBERS, FILTER_FIELDS, FILTER_LISTS, FILTER_PREFIXES  # noqa: E402

OPERATORS = {"$and", "$or", "$nor", "$ne", "$lt", "$lte", "$gt", "$gte", "$exists", "$regex", "$elemMatch"}
DRIFT = {
    "data_drift": {"detected": True, "features": [
        {"feature": "age", "test": "ks", "statistic": 0.4, "p_value": 0.001, "threshold": None, "detected": True},
        {"feature": "", "test": "", "statistic": 0.0, "p_value": None, "threshold": 0.05, "detected": False},
    ]},
    "concept_drift": None,
}
PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z_][A-Za-z0-9_\-]*)*\Z")
SEEDS = [
    'status = COMPLETED AND concept_drift.detected = true',
    'data_drift.features.feature = "age" AND data_drift.features.detected = true',
    'NOT (concept_drift.features.p_value < 0.05 AND concept_drift.features.statistic >= 1e-3) AND model = x',
    "result.features.feature = 'ag*' AND result.features.test:* AND result.features.threshold != null",
    'create_time >= 2026-11-01T00:00:00Z AND NOT tags:weekly',
    '(model = "xgb*" OR model = lgbm-churn-v2) AND data_drift.parameters.drifted_features > 2',
    "error_message:*",
    "result.parameters.a.b.c != null",
    "-status = FAILED OR (tags:'a b' AND model = \"q\\\"uote\")",
]


def check(query: object, members: bool = False) -> None:
    """members: inside an $elemMatch, where keys are the list's member names."""
    if isinstance(query, dict):
        for key, value in query.items():
            assert isinstance(key, str)
            if key.startswith("$"):
                assert key in OPERATORS, f"operator {key!r} from user text"
                if key == "$regex":
                    assert isinstance(value, str) and value.startswith("^"), value
            elif members:
                assert key in FEATURE_MEMBERS, key
            elif isinstance(value, dict) and "$elemMatch" in value:
                assert key in FILTER_LISTS and list(value) == ["$elemMatch"], key
                check(value["$elemMatch"], members=True)
                continue
            else:
                root, (owner, _, member) = key.split(".")[0], key.rpartition(".")
                dotted_member = owner in FILTER_LISTS and member in FEATURE_MEMBERS  # the database's superset of a match
                assert PATH.match(key) and (
                    key in FILTER_FIELDS or any(key.startswith(p + ".") for p in FILTER_PREFIXES) or root in FILTER_FIELDS or dotted_member
                ), key
            check(value, members=members)
    elif isinstance(query, list):
        for item in query:
            check(item, members=members)


def test_one_input(data: bytes) -> None:
    text = data.decode("utf-8", "replace")  # so the seeds, written as UTF-8, are what the fuzzer starts from
    try:
        query = compile_filter(text, FILTER_FIELDS, FILTER_PREFIXES, FILTER_LISTS)
    except FilterError:
        return
    assert isinstance(query, dict)
    check(query)
    for part in conjuncts(query):
        assert not contains_element_match(part) or as_check(part) is not None, part
    database, keep = split(query)
    assert not contains_element_match(database), database
    check(database)
    if keep is not None:
        keep(DRIFT)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
