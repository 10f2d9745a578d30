"""The filter language of List calls (AIP-160 style), compiled to a MongoDB query.

Clients never send database operators: they send this text, and only comparisons on whitelisted
fields (plus validated `*.parameters.<key>` paths) come out. Grammar (EBNF):

    filter     = [ expression ] ;
    expression = conjunction { "OR" conjunction } ;
    conjunction= negation { "AND" negation } ;
    negation   = ( "NOT" | "-" ) negation | term ;
    term       = "(" expression ")" | comparison ;
    comparison = field ( "=" | "!=" | "<" | "<=" | ">" | ">=" | ":" ) value ;
    field      = name { "." name } ;
    value      = quoted string | bare word | number | "true" | "false" | "null" | "*" (only after ":") ;

Precedence is NOT > AND > OR, as in SQL and most languages. AIP-160 binds OR tighter than AND; we
deliberately don't, because `a AND b OR c` reading as `a AND (b OR c)` surprises people. Use
parentheses to be explicit. Implicit AND (two terms side by side) is refused with a hint.

Values: "text" or 'text' (backslash escapes), bare words (COMPLETED), numbers, true/false, null,
RFC 3339 times (2024-01-01T00:00:00Z, quoted or bare, or a date 2024-01-01, read as UTC).
A trailing * in a string value for = or : is a prefix match. `field:*` means present and not empty;
on a list field, `tags:x` means the list contains x.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_LENGTH = 2000
MAX_DEPTH = 32
MAX_COMPARISONS = 64
MAX_DYNAMIC_DEPTH = 8

_OPERATORS = {"=": None, "!=": "$ne", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", ":": None}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_][A-Za-z0-9_\-]*)*")
_SEGMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_BARE_STOP = set(" \t\r\n()\"'")
_KEYWORDS = {"AND", "OR", "NOT"}


class FilterError(ValueError):
    """The filter cannot be used; the message says what and where."""


@dataclass(frozen=True)
class FieldSpec:
    path: str
    kind: str  # string | bool | time | number | enum | string_list | any
    enum_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Value:
    text: str
    quoted: bool
    column: int


def compile_filter(
    text: str, fields: Mapping[str, FieldSpec], dynamic_prefixes: Mapping[str, str] | None = None
) -> dict[str, Any]:
    if len(text) > MAX_LENGTH:
        raise FilterError(f"filter is longer than {MAX_LENGTH} characters")
    if not text.strip():
        return {}
    return _Parser(text, fields, dynamic_prefixes or {}).parse()


class _Parser:
    def __init__(self, text: str, fields: Mapping[str, FieldSpec], prefixes: Mapping[str, str]) -> None:
        self.text = text
        self.pos = 0
        self.fields = fields
        self.prefixes = prefixes
        self.depth = 0
        self.comparisons = 0

    # -- scanning ---------------------------------------------------------------------------------

    def _skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def _error(self, message: str, column: int | None = None) -> FilterError:
        return FilterError(f"{message} at column {(self.pos if column is None else column) + 1}")

    def _peek_word(self) -> str:
        self._skip_space()
        match = re.compile(r"[A-Za-z]+").match(self.text, self.pos)
        word = match.group(0) if match else ""
        end = self.pos + len(word)
        # A keyword only when it stands alone (NOTE is a field name, not NOT + E).
        if word in _KEYWORDS and (end == len(self.text) or self.text[end] in _BARE_STOP):
            return word
        return ""

    def _at(self, char: str) -> bool:
        self._skip_space()
        return self.text.startswith(char, self.pos)

    # -- grammar ----------------------------------------------------------------------------------

    def parse(self) -> dict[str, Any]:
        result = self._expression()
        self._skip_space()
        if self.pos < len(self.text):
            if self._at(")"):
                raise self._error("unbalanced ')'")
            raise self._error("expected AND or OR between conditions (conditions side by side are not combined)")
        return result

    def _nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self._error(f"filter nests deeper than {MAX_DEPTH} levels")

    def _expression(self) -> dict[str, Any]:
        self._nest()
        parts = [self._conjunction()]
        while self._peek_word() == "OR":
            self.pos += 2
            parts.append(self._conjunction())
        self.depth -= 1
        return parts[0] if len(parts) == 1 else {"$or": parts}

    def _conjunction(self) -> dict[str, Any]:
        parts = [self._negation()]
        while self._peek_word() == "AND":
            self.pos += 3
            parts.append(self._negation())
        return parts[0] if len(parts) == 1 else {"$and": parts}

    def _negation(self) -> dict[str, Any]:
        if self._peek_word() == "NOT":
            self.pos += 3
        elif self._at("-"):
            self.pos += 1
        else:
            return self._term()
        self._nest()
        inner = self._negation()
        self.depth -= 1
        return {"$nor": [inner]}

    def _term(self) -> dict[str, Any]:
        if self._at("("):
            self.pos += 1
            inner = self._expression()
            if not self._at(")"):
                raise self._error("missing ')'")
            self.pos += 1
            return inner
        return self._comparison()

    def _comparison(self) -> dict[str, Any]:
        self._skip_space()
        start = self.pos
        match = _NAME.match(self.text, self.pos)
        if not match:
            raise self._error("expected a field name")
        name = match.group(0)
        self.pos = match.end()
        spec = self._field(name, start)
        self._skip_space()
        op = next((o for o in ("!=", "<=", ">=", "=", "<", ">", ":") if self.text.startswith(o, self.pos)), None)
        if op is None:
            raise self._error(f"expected an operator (=, !=, <, <=, >, >=, :) after {name!r}")
        self.pos += len(op)
        value = self._value()
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise self._error(f"filter has more than {MAX_COMPARISONS} comparisons")
        return _compare(spec, name, op, value)

    def _field(self, name: str, column: int) -> FieldSpec:
        if name in self.fields:
            return self.fields[name]
        for public, path in self.prefixes.items():
            if name.startswith(public + "."):
                segments = name[len(public) + 1 :].split(".")
                if len(segments) > MAX_DYNAMIC_DEPTH or not all(_SEGMENT.match(s) for s in segments):
                    raise self._error(f"invalid key path {name!r}", column)
                return FieldSpec(f"{path}.{'.'.join(segments)}", "any")
        allowed = ", ".join([*self.fields, *(f"{p}.<key>" for p in self.prefixes)])
        raise self._error(f"unknown field {name!r} (allowed: {allowed})", column)

    def _value(self) -> _Value:
        self._skip_space()
        column = self.pos
        if self.pos >= len(self.text):
            raise self._error("expected a value")
        quote = self.text[self.pos]
        if quote in "\"'":
            self.pos += 1
            chars = []
            while self.pos < len(self.text) and self.text[self.pos] != quote:
                char = self.text[self.pos]
                if char == "\\" and self.pos + 1 < len(self.text):
                    self.pos += 1
                    char = {"n": "\n", "t": "\t"}.get(self.text[self.pos], self.text[self.pos])
                chars.append(char)
                self.pos += 1
            if self.pos >= len(self.text):
                raise self._error("unterminated string", column)
            self.pos += 1
            return _Value("".join(chars), True, column)
        end = self.pos
        while end < len(self.text) and self.text[end] not in _BARE_STOP:
            end += 1
        if end == self.pos:
            raise self._error("expected a value")
        word, self.pos = self.text[self.pos : end], end
        return _Value(word, False, column)


def _compare(spec: FieldSpec, name: str, op: str, value: _Value) -> dict[str, Any]:
    where = f"at column {value.column + 1}"
    if op == ":" and value.text == "*" and not value.quoted:
        # Presence as in proto3: set and not the default, so an empty string or list is absent.
        empty = {"string": [None, ""], "string_list": [None, []]}.get(spec.kind, [None])
        return {spec.path: {"$exists": True, "$nin": empty}}
    if not value.quoted and value.text == "null":
        if op not in ("=", "!="):
            raise FilterError(f"null can only be compared with = or != {where}")
        return {spec.path: None if op == "=" else {"$ne": None}}
    if spec.kind in ("string", "string_list", "any") and value.text.endswith("*") and (value.quoted or spec.kind != "any" or not _NUMBER.match(value.text)):
        if op not in ("=", ":"):
            raise FilterError(f"a * prefix match needs = or : {where}")
        # The only regex we emit: an escaped, anchored prefix.
        return {spec.path: {"$regex": "^" + re.escape(value.text[:-1])}}
    if spec.kind == "string_list" and op not in ("=", "!=", ":"):
        raise FilterError(f"{name} is a list: use :, = or != {where}")
    literal = _literal(spec, name, value, where)
    mongo_op = _OPERATORS[op]
    return {spec.path: literal if mongo_op is None else {mongo_op: literal}}


def _literal(spec: FieldSpec, name: str, value: _Value, where: str) -> Any:
    text = value.text
    if spec.kind in ("string", "string_list"):
        return text
    if spec.kind == "enum":
        if text not in spec.enum_values:
            raise FilterError(f"{name} must be one of {', '.join(spec.enum_values)}, not {text!r} {where}")
        return text
    if spec.kind == "bool":
        if value.quoted or text not in ("true", "false"):
            raise FilterError(f"{name} is true or false, not {text!r} {where}")
        return text == "true"
    if spec.kind == "number":
        if value.quoted or not _NUMBER.match(text):
            raise FilterError(f"{name} needs a number, not {text!r} {where}")
        return float(text)
    if spec.kind == "time":
        return _time(name, text, where)
    # "any": a free-form parameter; the literal's own form decides its type.
    if value.quoted:
        return text
    if text in ("true", "false"):
        return text == "true"
    if _NUMBER.match(text):
        return float(text)
    return text


def _time(name: str, text: str, where: str) -> datetime:
    if not _DATE.match(text):
        raise FilterError(f"{name} needs an RFC 3339 time like 2024-01-01T00:00:00Z, not {text!r} {where}")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise FilterError(f"{name} needs an RFC 3339 time like 2024-01-01T00:00:00Z, not {text!r} {where}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
