"""ExportDrifts' file building: an experiment's runs, oldest first, a page at a time, as CSV, JSON Lines or
Parquet chunks. Memory is bounded by one page (PAGE runs) and its encoded bytes, whatever the size of the
experiment: nothing keeps rows once their chunk is handed on.

Runs are walked in creation order by bucket (server/ordinals.py): `{experiment, bucket}` plus the caller's
filter, one equality query per bucket (what FerretDB v1 serves from its GIN indexes; on MongoDB the
(experiment, bucket, ordinal, _id) index), up to the last ordinal handed out when the export started.

Columns (CSV and Parquet, one row per run): the run's fields, then for each of result, concept_drift and
data_drift its `detected`, its parameters flattened (`data_drift.parameters.window.size`), every other
parameter as a JSON object in `<field>.parameters.other`, and its features as JSON. The flattened columns
are the parameter keys of the first page: a file's columns are fixed before its first row is written, and
a later run's keys beyond them (or, in Parquet, a value of another type than its column's) go to `other`.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from bson import ObjectId
from google.protobuf import json_format

from server import ordinals
from server.convert import RESULT_FIELDS, drift_to_proto
from server.listing import conjoin

PAGE = 1000  # runs per page: one database walk step, one CSV/JSON chunk, one Parquet row group
CHUNK = 1 << 20  # bytes per stream message at most (gRPC's default limit is 4 MiB)
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}
RUN_COLUMNS = ("id", "experiment_id", "model", "status", "tags", "creator", "create_time", "start_time", "end_time",
               "update_time", "error_message", "status_reason")
TIMES = ("create_time", "start_time", "end_time", "update_time")
FEATURE_COLUMNS = ("result_kind", "result_detected", "feature", "test", "statistic", "p_value", "threshold", "feature_detected")


class Walk:
    """The experiment's runs matching query (which names the experiment), a page at a time (blocking)."""

    def __init__(self, drifts: Any, query: dict[str, Any]) -> None:
        self.drifts, self.query = drifts, query
        low, self.high = ordinals.bounds(drifts, query["experiment"])
        self.first, self.last = ordinals.bucket_of(low), ordinals.bucket_of(self.high)
        self.bucket = self.first

    @property
    def fraction(self) -> float:
        span = self.last - self.first + 1
        return 1.0 if span <= 0 else min(1.0, (self.bucket - self.first) / span)

    def next_page(self) -> list[dict[str, Any]] | None:
        """The next up to ~PAGE runs (whole buckets), or None when the walk is done."""
        if self.bucket > self.last:
            return None
        found: list[dict[str, Any]] = []
        while self.bucket <= self.last and len(found) < PAGE:
            query = conjoin(self.query, {"bucket": self.bucket}, {"ordinal": {"$lte": self.high}})
            found += self.drifts.find(query).sort([("ordinal", 1), ("_id", 1)])
            self.bucket += 1
        return found


# -- values -------------------------------------------------------------------------------------------


def _time(value: datetime | None) -> str:
    return "" if value is None else value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested parameters as dotted keys (keys never contain '.': the API refuses them); lists stay values."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "string"


class Columns:
    """The file's columns, fixed from the first page, and each run's row as plain values."""

    def __init__(self, first_page: list[dict[str, Any]]) -> None:
        kinds: dict[str, dict[str, set[str]]] = {name: {} for name in RESULT_FIELDS}
        for doc in first_page:
            for name in RESULT_FIELDS:
                for key, value in flatten(((doc.get(name) or {}).get("parameters")) or {}).items():
                    if value is not None:
                        kinds[name].setdefault(key, set()).add(_kind(value))
        # A parameter column's type in Parquet: bool or number when every first-page value was one, else string.
        self.parameters = {name: {key: (k.pop() if len(k) == 1 else "string") for key, k in sorted(keys.items())} for name, keys in kinds.items()}
        self.names = list(RUN_COLUMNS)
        for name in RESULT_FIELDS:
            self.names += [f"{name}.detected", *(f"{name}.parameters.{key}" for key in self.parameters[name]),
                           f"{name}.parameters.other", f"{name}.features"]

    def row(self, doc: Mapping[str, Any], typed: bool) -> dict[str, Any]:
        """The run's values: typed (Parquet) keeps numbers, bools, lists and times; else all text (CSV)."""
        row: dict[str, Any] = {
            "id": str(doc["_id"]), "experiment_id": str(doc["experiment"]), "model": doc.get("model", ""),
            "status": doc.get("status", ""), "tags": list(doc.get("tags") or []), "creator": doc.get("creator", ""),
            "error_message": doc.get("error_message", ""), "status_reason": doc.get("status_reason", ""),
        }
        for name in TIMES:
            row[name] = doc.get(name) if typed else _time(doc.get(name))
        if not typed:
            row["tags"] = _json(row["tags"])
        for name in RESULT_FIELDS:
            result = doc.get(name)
            columns = self.parameters[name]
            row[f"{name}.detected"] = None if result is None else bool(result.get("detected"))
            other: dict[str, Any] = {}
            for key, value in flatten((result or {}).get("parameters") or {}).items():
                if key in columns and (not typed or value is None or _fits(value, columns[key])):
                    row[f"{name}.parameters.{key}"] = _cell(value, columns[key], typed)
                else:
                    other[key] = value
            row[f"{name}.parameters.other"] = _json(other) if other else None
            features = (result or {}).get("features")
            row[f"{name}.features"] = _json(features) if features else None
        if not typed:
            row = {key: _text(value) for key, value in row.items()}
        return row

    def feature_rows(self, doc: Mapping[str, Any]) -> Iterator[list[str]]:
        """CSV rows of one run, one per feature result (one row without features when it has none)."""
        base = self.row(doc, typed=False)
        head = [base[name] for name in RUN_COLUMNS]
        emitted = False
        for name in RESULT_FIELDS:
            result = doc.get(name)
            if result is None:
                continue
            for feature in result.get("features") or ():
                emitted = True
                yield [*head, name, _text(bool(result.get("detected"))), feature.get("feature", ""), feature.get("test", ""),
                       _text(feature.get("statistic")), _text(feature.get("p_value")), _text(feature.get("threshold")),
                       _text(bool(feature.get("detected")))]
        if not emitted:
            yield [*head, *("" for _ in FEATURE_COLUMNS)]


def _fits(value: Any, kind: str) -> bool:
    if kind == "string":
        return True
    return _kind(value) == kind


def _cell(value: Any, kind: str, typed: bool) -> Any:
    if not typed:
        return value
    if kind == "number":
        return float(value)
    if kind == "string" and not isinstance(value, str):
        return _json(value)
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, (list, dict)):
        return _json(value)
    return str(value)


# -- encoders: page of documents -> bytes -------------------------------------------------------------


class Encoder:
    def __init__(self, per_feature: bool = False) -> None:
        self.per_feature = per_feature
        self.columns: Columns | None = None

    def encode(self, page: list[dict[str, Any]]) -> bytes:
        raise NotImplementedError

    def finish(self) -> bytes:
        return b""


class CsvEncoder(Encoder):
    def encode(self, page: list[dict[str, Any]]) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        if self.columns is None:
            self.columns = Columns(page)
            writer.writerow([*RUN_COLUMNS, *FEATURE_COLUMNS] if self.per_feature else self.columns.names)
        for doc in page:
            if self.per_feature:
                writer.writerows(self.columns.feature_rows(doc))
            else:
                row = self.columns.row(doc, typed=False)
                writer.writerow([row.get(name) or "" for name in self.columns.names])
        return out.getvalue().encode()


class JsonLinesEncoder(Encoder):
    def encode(self, page: list[dict[str, Any]]) -> bytes:
        lines = (_json(json_format.MessageToDict(drift_to_proto(doc), preserving_proto_field_name=True)) for doc in page)
        return "".join(f"{line}\n" for line in lines).encode()


class _Sink(io.RawIOBase):
    """Where the Parquet writer writes: bytes collect until drained into a chunk."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.buffer += data
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def drain(self) -> bytes:
        data, self.buffer = bytes(self.buffer), bytearray()
        return data


class ParquetEncoder(Encoder):
    def __init__(self, per_feature: bool = False) -> None:
        super().__init__(per_feature)
        import pyarrow  # noqa: PLC0415 - only exports in Parquet need it
        import pyarrow.parquet  # noqa: PLC0415

        self.pa, self.pq = pyarrow, pyarrow.parquet
        self.sink = _Sink()
        self.writer: Any = None

    def _schema(self, columns: Columns) -> Any:
        pa = self.pa
        stamp = pa.timestamp("ms", tz="UTC")
        types: dict[str, Any] = {name: pa.string() for name in columns.names}
        types["tags"] = pa.list_(pa.string())
        types.update({name: stamp for name in TIMES})
        for name in RESULT_FIELDS:
            types[f"{name}.detected"] = pa.bool_()
            for key, kind in columns.parameters[name].items():
                types[f"{name}.parameters.{key}"] = {"bool": pa.bool_(), "number": pa.float64()}.get(kind, pa.string())
        return pa.schema([(name, types[name]) for name in columns.names])

    def encode(self, page: list[dict[str, Any]]) -> bytes:
        if self.columns is None:
            self.columns = Columns(page)
            self.writer = self.pq.ParquetWriter(self.sink, self._schema(self.columns), compression="zstd")
        rows = [self.columns.row(doc, typed=True) for doc in page]
        if rows:
            data = {name: [row.get(name) for row in rows] for name in self.columns.names}
            self.writer.write_table(self.pa.Table.from_pydict(data, schema=self.writer.schema))
        return self.sink.drain()

    def finish(self) -> bytes:
        if self.writer is None:  # no page at all: still a valid, empty file
            self.encode([])
        self.writer.close()
        return self.sink.drain()


ENCODERS: dict[str, type[Encoder]] = {"csv": CsvEncoder, "jsonl": JsonLinesEncoder, "parquet": ParquetEncoder}


def chunks(data: bytes) -> list[bytes]:
    return [data[start:start + CHUNK] for start in range(0, len(data), CHUNK)]


def experiment_query(experiment: ObjectId, condition: dict[str, Any] | None) -> dict[str, Any]:
    return conjoin({"experiment": experiment}, condition or {})
