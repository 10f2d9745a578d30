"""Same-element conditions on lists of sub-documents (a result's per-feature outcomes), run on FerretDB v1.

The filter compiler writes them as MongoDB's `{list: {"$elemMatch": {...}}}`, which is what they mean. FerretDB
v1 cannot run that on sub-documents: a two-member $elemMatch is an error ("unknown operator") and a
one-member one silently matches nothing. So a query is split in two before it is sent:

- the database gets the rest of the query, plus, for each positive element match, its members' conditions
  as dotted paths (`list.member`: "some element satisfies this one"), a superset that FerretDB does run and
  that keeps the scan to likely drifts; a negated element match sends nothing (everything is a superset);
- `keep(doc)` then decides each element match exactly, here, on the drifts the database returned.

The compiler allows element matches only as conjuncts of the whole filter (alone or under one NOT), so
this split is exact: a drift is listed iff it matches the database part and every element check.
The conditions inside are the compiler's own output on typed members (string, number, bool): equality,
$ne, the four orderings, an anchored prefix $regex, and presence ($exists with $ne null).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_ORDER = {"$lt": lambda a, b: a < b, "$lte": lambda a, b: a <= b, "$gt": lambda a, b: a > b, "$gte": lambda a, b: a >= b}
_SUPERSET_OPERATORS = {"$lt", "$lte", "$gt", "$gte", "$regex"}  # dotted "some element ..." means the same


@dataclass(frozen=True)
class ElementCheck:
    path: str  # the list, e.g. data_drift.features
    conditions: tuple[Mapping[str, Any], ...]  # each {member: literal or operators}; all on one element
    negated: bool  # NOT: no element matches


def conjuncts(query: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The top-level AND parts of a compiled query (nested $and flattened, other keys one part each)."""
    parts: list[dict[str, Any]] = []
    for key, value in query.items():
        if key == "$and":
            for part in value:
                parts += conjuncts(part)
        else:
            parts.append({key: value})
    return parts


def as_check(part: Mapping[str, Any]) -> ElementCheck | None:
    """The element check a conjunct is (`{list: {$elemMatch}}` or its $nor), or None."""
    negated = False
    if list(part) == ["$nor"] and len(part["$nor"]) == 1:
        part, negated = part["$nor"][0], True
    if len(part) != 1:
        return None
    (path, value), = part.items()
    if not (isinstance(value, Mapping) and list(value) == ["$elemMatch"]):
        return None
    inner = value["$elemMatch"]
    conditions = tuple(inner["$and"]) if list(inner) == ["$and"] else tuple({k: v} for k, v in inner.items())
    return ElementCheck(path, conditions, negated)


def contains_element_match(query: Any) -> bool:
    if isinstance(query, Mapping):
        return "$elemMatch" in query or any(contains_element_match(v) for v in query.values())
    if isinstance(query, (list, tuple)):
        return any(contains_element_match(v) for v in query)
    return False


def split(query: Mapping[str, Any]) -> tuple[dict[str, Any], Callable[[Mapping[str, Any]], bool] | None]:
    """(what the database runs, the exact check of each drift it returns; None when nothing is left to check)."""
    if not contains_element_match(query):
        return dict(query), None
    database: list[dict[str, Any]] = []
    checks: list[ElementCheck] = []
    for part in conjuncts(query):
        check = as_check(part)
        if check is None:
            database.append(part)
            continue
        checks.append(check)
        if not check.negated:
            database += [{f"{check.path}.{member}": cond} for c in check.conditions for member, cond in c.items() if _superset(cond)]
    merged: dict[str, Any] = {}
    rest: list[dict[str, Any]] = []
    for part in database:  # plain keys at the top (FerretDB pushes those down), repeats under $and
        ((key, value),) = part.items()
        if key.startswith("$") or key in merged:
            rest.append(part)
        else:
            merged[key] = value
    if rest:
        merged["$and"] = rest
    return merged, lambda doc: all(_holds(check, doc) for check in checks)


def _superset(condition: Any) -> bool:
    """Whether the dotted form ("some element ...") keeps every drift the element condition keeps: a plain
    value or ordering/prefix does; $ne, null and presence do not mean the same on a dotted array path."""
    if isinstance(condition, Mapping):
        return bool(condition) and set(condition) <= _SUPERSET_OPERATORS
    return condition is not None


def _holds(check: ElementCheck, doc: Mapping[str, Any]) -> bool:
    elements = _resolve(doc, check.path)
    found = any(isinstance(e, Mapping) and all(_member(e, c) for c in check.conditions) for e in elements)
    return found != check.negated


def _resolve(doc: Mapping[str, Any], path: str) -> Sequence[Any]:
    value: Any = doc
    for key in path.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    return value if isinstance(value, list) else ()


def _member(element: Mapping[str, Any], condition: Mapping[str, Any]) -> bool:
    return all(_test(element.get(member), spec) for member, spec in condition.items())


def _kind(value: Any) -> str:
    """MongoDB compares only within a type class; so do we (a bool is never a number here)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "string" if isinstance(value, str) else "other"


def _equal(value: Any, literal: Any) -> bool:
    if literal is None:
        return value is None
    return _kind(value) == _kind(literal) and value == literal


def _test(value: Any, spec: Any) -> bool:
    if not (isinstance(spec, Mapping) and spec and all(str(k).startswith("$") for k in spec)):
        return _equal(value, spec)
    for op, operand in spec.items():
        if op == "$ne":
            ok = not _equal(value, operand)
        elif op == "$exists":
            ok = (value is not None) == bool(operand)  # the member is always stored; null counts as absent
        elif op == "$regex":
            ok = isinstance(value, str) and re.match(operand, value) is not None
        elif op in _ORDER:
            ok = _kind(value) == _kind(operand) != "other" and _ORDER[op](value, operand)
        else:
            raise ValueError(f"element condition operator {op} is not one the compiler writes")
        if not ok:
            return False
    return True
