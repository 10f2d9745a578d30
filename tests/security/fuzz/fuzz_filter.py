"""atheris target: the filter language compiler, on the drift fields (the richest set, with dynamic keys).

    python tests/security/fuzz/fuzz_filter.py CORPUS_DIR -runs=2000

Properties: any text either compiles or raises FilterError (nothing else); what compiles is a query made
only of the documented operators, keys that are whitelisted fields or validated parameter paths, and
regexes that are anchored, escaped prefixes. test_fuzz.py runs this a bounded number of times in CI.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

with atheris.instrument_imports():  # the parser only: instrumenting grpc and pymongo would take minutes
    from server.filtering import FilterError, compile_filter
from server.services.drifts import FILTER_FIELDS, FILTER_PREFIXES  # noqa: E402

OPERATORS = {"$and", "$or", "$nor", "$ne", "$lt", "$lte", "$gt", "$gte", "$exists", "$regex"}
PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z_][A-Za-z0-9_\-]*)*\Z")
SEEDS = [
    'status = COMPLETED AND concept_drift.detected = true',
    'create_time >= 2026-11-01T00:00:00Z AND NOT tags:weekly',
    '(model = "xgb*" OR model = lgbm-churn-v2) AND data_drift.parameters.drifted_features > 2',
    "error_message:*",
    "result.parameters.a.b.c != null",
    "-status = FAILED OR (tags:'a b' AND model = \"q\\\"uote\")",
]


def check(query: object, top: bool = True) -> None:
    if isinstance(query, dict):
        for key, value in query.items():
            assert isinstance(key, str)
            if key.startswith("$"):
                assert key in OPERATORS, f"operator {key!r} from user text"
                if key == "$regex":
                    assert isinstance(value, str) and value.startswith("^"), value
            else:
                root = key.split(".")[0]
                assert PATH.match(key) and (key in FILTER_FIELDS or any(key.startswith(p + ".") for p in FILTER_PREFIXES) or root in FILTER_FIELDS), key
            check(value, top=False)
    elif isinstance(query, list):
        for item in query:
            check(item, top=False)


def test_one_input(data: bytes) -> None:
    text = data.decode("utf-8", "replace")  # so the seeds, written as UTF-8, are what the fuzzer starts from
    try:
        query = compile_filter(text, FILTER_FIELDS, FILTER_PREFIXES)
    except FilterError:
        return
    assert isinstance(query, dict)
    check(query)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
