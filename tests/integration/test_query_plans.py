"""Production on paper: every query the server sent during this session, planned as MongoDB would.

The session's servers log each query command they send (tests/querylog/sitecustomize.py, a PyMongo
command listener). This test runs last in the session (tests/integration/conftest.py orders it) and
plans each logged query against the indexes the server declared (listIndexes of its database,
query_plans.py): a collection scan, or an in-memory sort of everything a query matched, fails with the
query and the index it needs.
"""

from __future__ import annotations

from pathlib import Path

import pymongo
from bson import json_util

from tests.integration import query_plans


def _indexes(db: pymongo.database.Database) -> dict[str, list[list[tuple[str, int]]]]:
    return {name: [list(index["key"].items()) for index in db[name].list_indexes()] for name in db.list_collection_names()}


def test_every_query_the_server_sent_is_served_by_an_index(db: pymongo.database.Database, query_log: Path) -> None:
    indexes = _indexes(db)
    lines = [json_util.loads(line) for path in sorted(query_log.glob("*.jsonl")) for line in path.read_text().splitlines()]
    assert lines, "the servers logged no queries (is tests/querylog on their PYTHONPATH?)"
    problems: dict[str, str] = {}
    for line in lines:
        collection = line["collection"]
        for query, sort in query_plans.command_queries(line["command"], line["body"]):
            verdict = query_plans.check(collection, query, sort, indexes.get(collection, [[("_id", 1)]]))
            if verdict:
                problems.setdefault(f"{verdict}\n    {line['command']} {json_util.dumps(query)} sort {sort}", verdict)
    kinds = sorted(set(problems.values()))
    assert not problems, f"{len(kinds)} missing indexes:\n" + "\n".join(kinds) + "\nfor:\n" + "\n".join(sorted(problems))
