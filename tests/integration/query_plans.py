"""How MongoDB's planner would answer a query from a set of indexes, reduced to what decides its cost.

A query's conditions split into equalities (a value, `$eq`), ranges (`$gt`/`$gte`/`$lt`/`$lte`, `$in`, an anchored regex)
and the rest (`$ne`, `$exists`, `$regex`, ...: filters on what an index found, never bounds). An index
serves a query when its leading keys are equalities (any number, including none), then the sort's keys
in order (all in the sort's directions or all reversed), then at most a range: the planner walks only the
keys in those bounds, in order. An index that only gives the order is walked in order and its documents
filtered until the page is full (cheap when many match). With no such index and none whose first key is
bounded the query is a collection scan;
with an index that bounds it but does not give the order, an in-memory sort of everything it matched.
A top-level `$or` beside bounded conditions is a filter; alone, each branch must be served (an OR plan).
Both failures are refused unless the query is a single document by `_id`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bson.regex import Regex

RANGE_OPERATORS = {"$gt", "$gte", "$lt", "$lte", "$in"}
Index = Sequence[tuple[str, int]]


@dataclass
class Conditions:
    equal: set[str] = field(default_factory=set)
    ranged: set[str] = field(default_factory=set)
    alternatives: list[list[Mapping[str, Any]]] = field(default_factory=list)  # top-level $or, each a list of branches


def conditions(query: Mapping[str, Any], into: Conditions | None = None) -> Conditions:
    found = into or Conditions()
    for key, value in query.items():
        if key == "$and":
            for part in value:
                conditions(part, found)
        elif key == "$or":
            found.alternatives.append(list(value))
        elif key.startswith("$"):
            continue  # $nor, $comment, $expr: filters only
        elif isinstance(value, (Regex, re.Pattern)) or (isinstance(value, Mapping) and "$regex" in value):
            pattern = value.pattern if not isinstance(value, Mapping) else str(value["$regex"])
            flags = value.flags if not isinstance(value, Mapping) else value.get("$options", "")
            if pattern.startswith("^") and not (flags if isinstance(flags, str) else flags & re.IGNORECASE):
                found.ranged.add(key)  # an anchored prefix is a range of the index
        elif isinstance(value, Mapping) and any(str(op).startswith("$") for op in value):
            operators = set(value)
            if operators <= {"$eq"}:
                found.equal.add(key)
            elif operators & RANGE_OPERATORS:
                found.ranged.add(key)
        else:
            found.equal.add(key)
    return found


def _gives_order(rest: Index, sort: Index) -> bool:
    if len(rest) < len(sort) or [k for k, _ in rest[: len(sort)]] != [k for k, _ in sort]:
        return False
    same = [d == s for (_, d), (_, s) in zip(rest, sort, strict=False)]
    return all(same) or not any(same)


def serves(index: Index, found: Conditions, sort: Index) -> tuple[bool, bool]:
    """(bounds the query, gives its order) for one index."""
    keys = [k for k, _ in index]
    prefix = 0
    while prefix < len(keys) and keys[prefix] in found.equal:
        prefix += 1
    bounded = prefix > 0 or keys[0] in found.ranged
    sort = [(k, d) for k, d in sort if k not in found.equal]  # one value: ordered whatever the index
    ordered = not sort or _gives_order(index[prefix:], sort)
    if not bounded and sort and ordered:
        bounded = True  # the index walked in order, its documents filtered, stopped when the page is full
    return bounded, ordered


def needed(found: Conditions, sort: Index) -> str:
    keys = [*sorted(found.equal), *(k for k, _ in sort if k not in found.equal), *sorted(found.ranged - {k for k, _ in sort})]
    return "(" + ", ".join(keys or ["?"]) + ")"


def check(collection: str, query: Mapping[str, Any], sort: Index, indexes: Iterable[Index]) -> str:
    """'' when MongoDB would answer from an index in order; else why not, and the index it needs."""
    return _check(collection, conditions(query), sort, list(indexes))


def _check(collection: str, found: Conditions, sort: Index, indexes: list[Index]) -> str:
    if "_id" in found.equal:
        return ""
    verdicts = [serves(index, found, sort) for index in indexes]
    if any(bounded and ordered for bounded, ordered in verdicts):
        return ""
    if not any(bounded for bounded, _ in verdicts) and found.alternatives:
        # An OR plan: every branch (with the conditions beside the $or) served on its own.
        branches = [conditions(branch) for alternative in found.alternatives for branch in alternative]
        for branch in branches:
            branch.equal |= found.equal
            branch.ranged |= found.ranged
        if all(not _check(collection, branch, sort, indexes) for branch in branches):
            return ""
    if any(bounded for bounded, _ in verdicts):
        return f"in-memory sort of every match: {collection} needs an index like {needed(found, sort)}"
    return f"collection scan: {collection} needs an index like {needed(found, sort)}"


def command_queries(command: str, body: Mapping[str, Any]) -> list[tuple[Mapping[str, Any], Index]]:
    """(filter, sort) of each query a command sends; nothing for a count of the whole collection."""
    def order(sort: Any) -> Index:
        return list((sort or {}).items())

    if command == "find":
        return [(body.get("filter") or {}, order(body.get("sort")))]
    if command == "findAndModify":
        return [(body.get("query") or {}, order(body.get("sort")))]
    if command == "update":
        return [(u.get("q") or {}, []) for u in body.get("updates", [])]
    if command == "delete":
        return [(d.get("q") or {}, []) for d in body.get("deletes", [])]
    if command in ("count", "distinct"):
        query = body.get("query") or {}
        return [(query, [])] if query else []
    if command == "aggregate":
        stages = body.get("pipeline", [])
        match = next((s["$match"] for s in stages[:1] if "$match" in s), {})
        sort = next((s["$sort"] for s in stages[1:2] if "$sort" in s), {})
        return [(match, order(sort))]
    return []
