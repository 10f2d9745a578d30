"""The filter language of List calls (AIP-160 subset), compiled to a MongoDB query dict.

Clients never send database operators: they send this text, and only comparisons on whitelisted
fields (plus validated keys under the configured dynamic prefixes) come out. Grammar (EBNF):

    filter      = [ expression ] ;
    expression  = conjunction { "OR" conjunction } ;
    conjunction = negation { "AND" negation } ;
    negation    = ( "NOT" | "-" ) negation | term ;
    term        = "(" expression ")" | comparison ;
    comparison  = field operator value ;
    operator    = "=" | "!=" | "<" | "<=" | ">" | ">=" | ":" ;
    field       = a known field name | prefix "." key { "." key }     (* at most 8 keys *)
                | list "." member ;                                (* e.g. data_drift.features.p_value *)
    key         = /[A-Za-z_][A-Za-z0-9_-]*/ ;
    value       = '"' chars '"' | "'" chars "'" | bare ;            (* backslash escapes in quotes *)
    bare        = any run of characters except whitespace, "(" and ")" ;

Precedence is NOT > AND > OR, as in SQL and most programming languages. This deliberately deviates
from AIP-160, which binds OR tighter than AND: `a AND b OR c` here means `(a AND b) OR c`. Use
parentheses to be explicit. Implicit AND (two conditions side by side) is refused with a hint to
write AND; keywords are upper case only.

Values are typed by the field: string (any literal; a trailing unescaped `*` with `=` or `:` is a
prefix match), enum (one of the allowed names), bool (true/false), number (int or float),
time (RFC 3339 such as 2024-01-01T00:00:00Z, quoted or bare, or a date 2024-01-01 meaning midnight
UTC; always becomes an aware UTC datetime), string_list (`tags:x` means the list contains x).
Free-form keys under a dynamic prefix infer the type from the literal: number, true/false, null,
otherwise string (quoted literals are always strings). `null` (unquoted) works with =, : and !=.
`field:*` means present and not null, and for string and string_list fields also not "" / []
(proto3 cannot tell an unset string from an empty one, so the stored default counts as absent).

Element lists (a list of sub-documents, such as a result's per-feature outcomes) are reached through
their declared members only. Conditions on the same list joined by AND in one chain (not inside
parentheses of their own, not under NOT) must hold for the SAME element: they compile to one
`{list: {"$elemMatch": {...}}}`. Any other condition on a list, alone, under NOT, across OR or in its own
parentheses, is its own "some element matches" (NOT: "no element matches").

Output uses only $and, $or, $nor, $ne, $lt, $lte, $gt, $gte, $exists, $regex and $elemMatch, and the only
regex is an anchored, escaped prefix. User text never becomes a key except as a validated dynamic path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from server.element_match import as_check, conjuncts, contains_element_match

__all__ = ["ElementList", "FieldSpec", "FilterError", "compile_filter"]

MAX_LENGTH = 2000
MAX_DEPTH = 32
MAX_COMPARISONS = 64
MAX_DYNAMIC_DEPTH = 8

KINDS = frozenset({"string", "bool", "time", "number", "enum", "string_list"})
_DYNAMIC = "dynamic"  # internal kind for keys under a dynamic prefix
_ORDERING = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
_KEYWORDS = frozenset({"AND", "OR", "NOT"})
# Longest first so "<=" is not read as "<" followed by "=".
_OPERATOR_RE = re.compile(r"!=|<=|>=|=|<|>|:")
_NAME_RE = re.compile(r"[^\s()\"'=!<>:]+")
_BARE_VALUE_RE = re.compile(r"[^\s()]+")
_SEGMENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")
_NUMBER_RE = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\Z")
_TIME_RE = re.compile(
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})"
    r"(?:[Tt](?P<h>[0-9]{2}):(?P<mi>[0-9]{2}):(?P<s>[0-9]{2})(?:\.(?P<f>[0-9]{1,9}))?"
    r"(?P<tz>[Zz]|[+-][0-9]{2}:[0-9]{2}))?\Z"
)
_INT64 = 2**63  # BSON cannot store larger integers; refuse them here rather than fail in the driver


class FilterError(ValueError):
    """The filter cannot be used; the message says what is wrong and at which column."""


@dataclass(frozen=True)
class FieldSpec:
    path: str  # MongoDB document path
    kind: str  # string | bool | time | number | enum | string_list
    enum_values: tuple[str, ...] = ()  # for enum: allowed names, stored as the same strings

    def __post_init__(self) -> None:
        if self.kind not in KINDS | {_DYNAMIC}:
            raise ValueError(f"unknown field kind {self.kind!r}")


@dataclass(frozen=True)
class ElementList:
    """A stored list of sub-documents whose members can be compared, element by element."""

    path: str  # MongoDB path of the list
    members: Mapping[str, FieldSpec]  # public member name -> spec whose path is relative to one element


@dataclass(frozen=True)
class _Element:
    """One comparison on a member of an element list, not yet wrapped in its $elemMatch."""

    path: str
    condition: dict[str, Any]


def _seal(part: dict[str, Any] | _Element) -> dict[str, Any]:
    return {part.path: {"$elemMatch": part.condition}} if isinstance(part, _Element) else part


def _same_element(path: str, conditions: list[dict[str, Any]]) -> dict[str, Any]:
    """One $elemMatch for conditions that must hold for one element: a plain merge while the members
    differ, else an $and inside it (both mean 'this element matches all of them')."""
    flat = [c for condition in conditions for c in condition.get("$and", [condition])]
    keys = [key for condition in flat for key in condition]
    merged = {k: v for condition in flat for k, v in condition.items()} if len(keys) == len(set(keys)) else {"$and": flat}
    return {path: {"$elemMatch": merged}}


@dataclass(frozen=True)
class _Token:
    kind: str  # "(" | ")" | "-" | "op" | "word" | "string" | "end"
    text: str
    column: int  # 1-based, for messages
    literal_star: bool = False  # a quoted string whose final "*" was escaped: not a wildcard


def compile_filter(
    text: str,
    fields: Mapping[str, FieldSpec],
    dynamic_prefixes: Mapping[str, str] | None = None,
    element_lists: Mapping[str, ElementList] | None = None,
) -> dict[str, Any]:
    """Compile filter `text` over the public `fields` into a MongoDB query; raise FilterError."""
    if len(text) > MAX_LENGTH:
        raise FilterError(f"filter is longer than {MAX_LENGTH} characters")
    if not text.strip():
        return {}
    return _Parser(_tokenize(text), fields, dynamic_prefixes or {}, element_lists or {}).parse()


def _tokenize(text: str) -> list[_Token]:
    """Split into tokens. Context matters: after an operator comes a value, which may contain ':'
    and '-' (timestamps), so bare values run to whitespace or a parenthesis."""
    tokens: list[_Token] = []
    pos, expect_value = 0, False
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            tokens.append(_Token("end", "", pos + 1))
            return tokens
        char, column = text[pos], pos + 1
        if char in "()":
            tokens.append(_Token(char, char, column))
            pos += 1
        elif char in "\"'":
            pos = _quoted(text, pos, tokens)
        elif expect_value and char in "=!<>:":
            # Almost always a typo such as "==" or "=>"; a value like that can still be quoted.
            raise FilterError(f"expected a value at column {column}, found {char!r}; quote values starting with it")
        elif expect_value:
            match = _BARE_VALUE_RE.match(text, pos)
            assert match  # non-space, non-paren character guarantees a match
            tokens.append(_Token("word", match.group(), column))
            pos = match.end()
        elif match := _OPERATOR_RE.match(text, pos):
            tokens.append(_Token("op", match.group(), column))
            pos = match.end()
        elif char == "-":
            tokens.append(_Token("-", char, column))
            pos += 1
        elif match := _NAME_RE.match(text, pos):
            tokens.append(_Token("word", match.group(), column))
            pos = match.end()
        else:  # a lone "!" is the only character that starts nothing
            raise FilterError(f"unexpected character {char!r} at column {column}")
        expect_value = tokens[-1].kind == "op"


def _quoted(text: str, pos: int, tokens: list[_Token]) -> int:
    quote, start = text[pos], pos
    pos += 1
    chars: list[str] = []
    escaped_last = False
    while pos < len(text) and text[pos] != quote:
        char, escaped_last = text[pos], False
        if char == "\\" and pos + 1 < len(text):
            pos += 1
            char, escaped_last = {"n": "\n", "t": "\t", "r": "\r"}.get(text[pos], text[pos]), True
        chars.append(char)
        pos += 1
    if pos >= len(text):
        raise FilterError(f"unterminated string starting at column {start + 1}")
    literal_star = escaped_last and chars[-1] == "*"
    tokens.append(_Token("string", "".join(chars), start + 1, literal_star))
    return pos + 1


class _Parser:
    """Recursive descent over the token list; depth and comparison counts bound the work."""

    def __init__(
        self, tokens: list[_Token], fields: Mapping[str, FieldSpec], prefixes: Mapping[str, str], lists: Mapping[str, ElementList]
    ) -> None:
        self.tokens = tokens
        self.index = 0
        self.fields = fields
        self.prefixes = prefixes
        self.lists = lists
        self.depth = 0
        self.comparisons = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def _keyword(self, word: str) -> bool:
        return self.token.kind == "word" and self.token.text == word

    def _advance(self) -> _Token:
        token = self.token
        self.index += 1
        return token

    def parse(self) -> dict[str, Any]:
        result = self._expression()
        token = self.token
        if token.kind == ")":
            raise FilterError(f"unbalanced ')' at column {token.column}")
        if token.kind != "end":
            raise FilterError(
                f"expected AND or OR at column {token.column}, found {token.text!r} "
                "(conditions side by side are not combined; write AND explicitly)"
            )
        if self.lists and contains_element_match(result):
            self._place_element_matches(result)
        return result

    def _place_element_matches(self, result: dict[str, Any]) -> None:
        """Element conditions only as parts of the filter's top AND chain, alone or under one NOT: what FerretDB
        cannot run is checked on the server's side of the database (element_match.py), exactly only there."""
        for part in conjuncts(result):
            if contains_element_match(part) and as_check(part) is None:
                lists = " or ".join(f"{public}.*" for public in self.lists)
                raise FilterError(
                    f"conditions on {lists} must be joined to the rest of the filter by AND "
                    "(alone, or under NOT with nothing else); they cannot be under OR, or negated together with other fields"
                )

    def _enter(self, column: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FilterError(f"filter nests deeper than {MAX_DEPTH} levels at column {column}")

    def _expression(self) -> dict[str, Any]:
        parts = [self._conjunction()]
        while self._keyword("OR"):
            self._advance()
            parts.append(self._conjunction())
        return parts[0] if len(parts) == 1 else {"$or": parts}

    def _conjunction(self) -> dict[str, Any]:
        parts = [self._negation()]
        while self._keyword("AND"):
            self._advance()
            parts.append(self._negation())
        # Element conditions of one list in this chain match the same element: one $elemMatch, placed
        # where the list is first named.
        by_list: dict[str, list[dict[str, Any]]] = {}
        for part in parts:
            if isinstance(part, _Element):
                by_list.setdefault(part.path, []).append(part.condition)
        out: list[dict[str, Any]] = []
        for part in parts:
            if not isinstance(part, _Element):
                out.append(part)
            elif part.path in by_list:
                out.append(_same_element(part.path, by_list.pop(part.path)))
        return out[0] if len(out) == 1 else {"$and": out}

    def _negation(self) -> dict[str, Any] | _Element:
        if not (self._keyword("NOT") or self.token.kind == "-"):
            return self._term()
        self._enter(self._advance().column)
        inner = _seal(self._negation())  # NOT (some element matches): no element matches
        self.depth -= 1
        return {"$nor": [inner]}

    def _term(self) -> dict[str, Any] | _Element:
        if self.token.kind != "(":
            return self._comparison()
        self._enter(self._advance().column)
        inner = self._expression()
        if self.token.kind != ")":
            raise FilterError(f"missing ')' at column {self.token.column}")
        self._advance()
        self.depth -= 1
        return inner

    def _comparison(self) -> dict[str, Any] | _Element:
        name = self.token
        if name.kind != "word" or name.text in _KEYWORDS:
            found = "end of filter" if name.kind == "end" else repr(name.text)
            raise FilterError(f"expected a field name at column {name.column}, found {found}")
        self._advance()
        found = self._member(name) if name.text not in self.fields else None
        spec, element = found if found else (self._field(name), None)
        if self.token.kind != "op":
            raise FilterError(
                f"expected an operator (=, !=, <, <=, >, >=, :) after {name.text!r} at column {self.token.column}"
            )
        op = self._advance().text
        value = self.token
        if value.kind not in ("word", "string"):
            raise FilterError(f"expected a value after {op!r} at column {value.column}")
        self._advance()
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise FilterError(f"filter has more than {MAX_COMPARISONS} comparisons at column {name.column}")
        condition = _compare(spec, name.text, op, value)
        return condition if element is None else _Element(element.path, condition)

    def _member(self, name: _Token) -> tuple[FieldSpec, ElementList] | None:
        """The member spec when `name` reaches into an element list (or names the list itself: an error)."""
        for public, element in self.lists.items():
            members = ", ".join(f"{public}.{m}" for m in element.members)
            if name.text == public:
                raise FilterError(
                    f"{public} at column {name.column} is a list of results; compare one of its members ({members}), "
                    f'e.g. {public}.{next(iter(element.members))} = "x"'
                )
            if name.text.startswith(public + "."):
                member = name.text[len(public) + 1 :]
                if member not in element.members:
                    raise FilterError(f"unknown field {name.text!r} at column {name.column}; {public} has {members}")
                return element.members[member], element
        return None

    def _field(self, name: _Token) -> FieldSpec:
        if name.text in self.fields:
            return self.fields[name.text]
        for public, path in self.prefixes.items():
            if name.text.startswith(public + "."):
                keys = name.text[len(public) + 1 :].split(".")
                if len(keys) > MAX_DYNAMIC_DEPTH:
                    raise FilterError(f"key path {name.text!r} at column {name.column} is deeper than {MAX_DYNAMIC_DEPTH}")
                bad = next((key for key in keys if not _SEGMENT_RE.match(key)), None)
                if bad is not None:
                    raise FilterError(
                        f"invalid key {bad!r} in {name.text!r} at column {name.column}; "
                        "keys are letters, digits, '_' and '-', starting with a letter or '_'"
                    )
                return FieldSpec(f"{path}.{'.'.join(keys)}", _DYNAMIC)
        lists = (f"{public}.<{'|'.join(element.members)}>" for public, element in self.lists.items())
        allowed = ", ".join([*self.fields, *(f"{prefix}.<key>" for prefix in self.prefixes), *lists])
        raise FilterError(f"unknown field {name.text!r} at column {name.column}; allowed: {allowed}")


def _compare(spec: FieldSpec, name: str, op: str, value: _Token) -> dict[str, Any]:
    where = f"at column {value.column}"
    text, quoted = value.text, value.kind == "string"
    if op == ":" and text == "*" and not quoted:
        present = {spec.path: {"$exists": True, "$ne": None}}
        # Proto3 has no "unset" for strings and lists: the stored default ("" or []) counts as absent.
        empty = {"string": "", "string_list": []}.get(spec.kind)
        return present if empty is None else {"$and": [present, {spec.path: {"$ne": empty}}]}
    if text == "null" and not quoted:
        if op in _ORDERING:
            raise FilterError(f"null can only be compared with =, != or : {where}")
        return {spec.path: {"$ne": None} if op == "!=" else None}
    # A dynamic key's bare true/false/number is not a string, so a trailing * there is no wildcard.
    untyped = quoted or not (text in ("true", "false") or _NUMBER_RE.match(text))
    stringy = spec.kind in ("string", "string_list") or (spec.kind == _DYNAMIC and untyped)
    if stringy and text.endswith("*") and not value.literal_star:
        if op not in ("=", ":"):
            raise FilterError(f"a trailing * (prefix match) needs = or : {where}")
        # The only regex we emit: anchored and escaped, so user text cannot inject a pattern.
        return {spec.path: {"$regex": "^" + re.escape(text[:-1])}}
    if op in _ORDERING and spec.kind in ("bool", "enum", "string_list"):
        raise FilterError(f"{name} cannot be ordered; use =, != or : {where}")
    literal = _literal(spec, name, text, quoted, where)
    if op == "!=":
        return {spec.path: {"$ne": literal}}
    if op in _ORDERING:
        return {spec.path: {_ORDERING[op]: literal}}
    return {spec.path: literal}  # "=" and ":" (for a list, Mongo equality already means "contains")


def _literal(spec: FieldSpec, name: str, text: str, quoted: bool, where: str) -> Any:
    if spec.kind in ("string", "string_list"):
        return text
    if spec.kind == "enum":
        if text not in spec.enum_values:
            raise FilterError(f"{name} must be one of {', '.join(spec.enum_values)}; got {text!r} {where}")
        return text
    if spec.kind == "bool":
        if quoted or text not in ("true", "false"):
            raise FilterError(f"{name} must be true or false; got {text!r} {where}")
        return text == "true"
    if spec.kind == "number":
        number = None if quoted else _number(text, where)
        if number is None:
            raise FilterError(f"{name} needs a number; got {text!r} {where}")
        return number
    if spec.kind == "time":
        return _time(name, text, where)
    return _dynamic(text, quoted, where)


def _dynamic(text: str, quoted: bool, where: str) -> Any:
    """A free-form key's value: its type comes from the literal's own form."""
    if quoted:
        return text
    if text in ("true", "false"):
        return text == "true"
    number = _number(text, where)
    return text if number is None else number


def _number(text: str, where: str) -> int | float | None:
    if not _NUMBER_RE.match(text):
        return None
    if not any(c in text for c in ".eE"):
        number: int | float = int(text)
        if abs(number) >= _INT64:
            raise FilterError(f"integer {text} is out of range {where}")
        return number
    number = float(text)
    if not math.isfinite(number):
        raise FilterError(f"number {text} is out of range {where}")
    return number


def _time(name: str, text: str, where: str) -> datetime:
    hint = f"{name} needs an RFC 3339 time like 2024-01-01T00:00:00Z or a date 2024-01-01; got {text!r} {where}"
    match = _TIME_RE.match(text)
    if not match:
        raise FilterError(hint)
    part = match.groupdict()
    try:
        tz = UTC
        if part["tz"] and part["tz"] not in "Zz":
            sign = -1 if part["tz"][0] == "-" else 1
            if int(part["tz"][1:3]) > 23 or int(part["tz"][4:6]) > 59:
                raise ValueError
            tz = timezone(sign * timedelta(hours=int(part["tz"][1:3]), minutes=int(part["tz"][4:6])))
        moment = datetime(
            int(part["y"]), int(part["mo"]), int(part["d"]),
            int(part["h"] or 0), int(part["mi"] or 0), int(part["s"] or 0),
            int((part["f"] or "0")[:6].ljust(6, "0")),  # Mongo keeps milliseconds; we keep what Python can
            tzinfo=tz,
        )  # fmt: skip
        return moment.astimezone(UTC)
    # ValueError: e.g. February 30th, hour 25, offset of 24 hours; OverflowError: year 1 or 9999
    # shifted by its offset out of the range datetime can hold.
    except (ValueError, OverflowError):
        raise FilterError(hint) from None
