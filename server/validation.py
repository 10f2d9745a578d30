"""Checks on request messages. Each failure is INVALID_ARGUMENT naming the field to fix.

Limits (documented in docs/api.md and the protos): experiment name 1-128, description 4096, model 1-256,
64 tags of 1-128, parameters 64 KiB encoded per drift and 16 levels deep, 10000 features per result.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from google.protobuf import struct_pb2, timestamp_pb2

from server.errors import invalid

MAX_NAME = 128
MAX_DESCRIPTION = 4096
MAX_MODEL = 256
MAX_TAGS = 64
MAX_TAG = 128
MAX_PARAMETER_BYTES = 64 * 1024
MAX_DEPTH = 16
MAX_KEY = 256
MAX_FEATURES = 10_000
MAX_ERROR_MESSAGE = 4096
MAX_GRANTS = 256
MAX_ENTITY = 512
MAX_REQUEST_ID = 128
MAX_ID = 64
MAX_RETENTION_DAYS = 36_500
MAX_RETENTION_RUNS = 100_000_000
# Timestamp range MongoDB dates and protobuf Timestamps share: years 1..9999.
MIN_SECONDS, MAX_SECONDS = -62135596800, 253402300799


def text(field: str, value: str, *, low: int, high: int) -> str:
    if not low <= len(value) <= high:
        if not value and low:
            raise invalid(field, "is required")
        raise invalid(field, f"must be {low}-{high} characters, got {len(value)}")
    if any(ord(ch) < 32 and ch not in "\t\n" or ch == "\x7f" for ch in value):
        raise invalid(field, "must not contain control characters")
    return value


def count(field: str, value: int, high: int) -> int:
    """A limit from 0 (none) to high."""
    if not 0 <= value <= high:
        raise invalid(field, f"must be from 0 (no limit) to {high}, got {value}")
    return value


def identifier(field: str, value: str) -> str:
    if not value:
        raise invalid(field, "is required")
    if len(value) > MAX_ID:
        raise invalid(field, f"must be at most {MAX_ID} characters")
    return value


def tags(field: str, values: Iterable[str]) -> list[str]:
    unique = list(dict.fromkeys(values))
    if len(unique) > MAX_TAGS:
        raise invalid(field, f"at most {MAX_TAGS} tags, got {len(unique)}")
    for index, tag in enumerate(unique):
        text(f"{field}[{index}]", tag, low=1, high=MAX_TAG)
    return unique


def enum_value(field: str, value: int, allowed: dict[int, str]) -> str:
    if value == 0:
        raise invalid(field, f"is required; use one of {', '.join(allowed.values())}")
    if value not in allowed:
        names = ", ".join(allowed.values())
        raise invalid(field, f"unknown value {value}; use one of {names}")
    return allowed[value]


def timestamp(field: str, value: timestamp_pb2.Timestamp) -> timestamp_pb2.Timestamp:
    if not (MIN_SECONDS <= value.seconds <= MAX_SECONDS and 0 <= value.nanos < 1_000_000_000):
        raise invalid(field, "must be a time between years 1 and 9999")
    return value


def finite(field: str, value: float) -> float:
    if not math.isfinite(value):
        raise invalid(field, "must be a finite number (no NaN or Infinity)")
    return value


def parameters(field: str, struct: struct_pb2.Struct) -> dict[str, Any]:
    """Plain dict of a Struct, refusing keys MongoDB would treat as operators or paths, and NaN/Inf."""
    return _struct(field, struct, 1)


def _struct(field: str, struct: struct_pb2.Struct, depth: int) -> dict[str, Any]:
    if depth > MAX_DEPTH:
        raise invalid(field, f"nesting deeper than {MAX_DEPTH} levels")
    out = {}
    for key, value in struct.fields.items():
        if not key or len(key) > MAX_KEY:
            raise invalid(field, f"keys must be 1-{MAX_KEY} characters")
        if key.startswith("$") or "." in key or "\x00" in key:
            raise invalid(f"{field}.{key[:64]}", "keys may not start with '$' or contain '.' or NUL")
        out[key] = _value(f"{field}.{key}", value, depth)
    return out


def _value(field: str, value: struct_pb2.Value, depth: int) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        if not math.isfinite(value.number_value):
            raise invalid(field, "numbers must be finite (no NaN or Infinity)")
        return value.number_value
    if kind == "struct_value":
        return _struct(field, value.struct_value, depth + 1)
    if kind == "list_value":
        if depth + 1 > MAX_DEPTH:
            raise invalid(field, f"nesting deeper than {MAX_DEPTH} levels")
        items = value.list_value.values
        if any(item.WhichOneof("kind") == "list_value" for item in items):
            # MongoDB stores lists of lists; FerretDB v1 refuses them, and we stay inside what both support.
            raise invalid(field, "lists may not directly contain lists; wrap inner lists in objects")
        return [_value(f"{field}[{i}]", item, depth + 1) for i, item in enumerate(items)]
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    return None  # null_value, or a Value with nothing set
