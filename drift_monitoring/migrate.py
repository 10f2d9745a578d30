"""`drift-monitor migrate`: copy an original Drift Watch database (Flask backend, drift-monitor 1.x) here.

The source is read directly with PyMongo (the `migrate` extra); everything is written through the
admin-only ImportService, so the server validates each record exactly as it validates new ones.

What is read (the original backend's shapes):
  app.users          {_id: uuid, subject, issuer, email, created_at}
  app.experiments    {_id: uuid, name, description, public, created_at,
                      permissions: [{entity, level: Read|Edit|Manage}]  (older: {entity: level})}
  app.<experiment>   one collection of drifts per experiment:
                      {_id: uuid, job_status: Running|Completed|Failed, model, tags, created_at,
                       drift_detected, parameters}             (schema 1.1)
                      {..., concept_drift: {drift, parameters}, data_drift: {drift, parameters}} (1.0)
Times were written with datetime.now().isoformat(): naive local time of the original server. They are
read in --timezone (default UTC, what the original's containers ran in unless TZ was set).

Users keep their identity: User.id comes from (issuer, subject) as when they sign in here, and grants
naming an original user id are rewritten to it; other entities (entitlements) are kept as written.
The original recorded no creator for a drift, so the experiment's owner (its first Manage user) is used.

Each record is keyed by its original id, so a second run changes nothing and an interrupted run is
finished by running it again. --dry-run asks the server to validate everything and count what would be
created, writing nothing. Whatever cannot be mapped is skipped and listed in the summary with the reason.
"""

from __future__ import annotations

import math
import re
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from google.protobuf import struct_pb2, timestamp_pb2

from drift_monitoring.client import Client
from drift_monitoring.errors import AlreadyExistsError, InvalidArgumentError
from drift_monitoring.v1 import drift_pb2, experiment_pb2, imports_pb2, imports_pb2_grpc

DEFAULT_DATABASE = "drifts-data"  # the original backend's DATABASE_NAME default
USERS, EXPERIMENTS = "app.users", "app.experiments"
BATCH = 500
MAX_BATCH_BYTES = 3 * 1024 * 1024  # under the server's 4 MiB message limit
STATUSES = {"Running": drift_pb2.DRIFT_STATUS_RUNNING, "Completed": drift_pb2.DRIFT_STATUS_COMPLETED, "Failed": drift_pb2.DRIFT_STATUS_FAILED}
LEVELS = {"Read": experiment_pb2.ACCESS_LEVEL_READ, "Edit": experiment_pb2.ACCESS_LEVEL_EDIT, "Manage": experiment_pb2.ACCESS_LEVEL_MANAGE}
KNOWN_DRIFT_FIELDS = {"_id", "job_status", "model", "tags", "created_at", "drift_detected", "parameters", "concept_drift", "data_drift", "schema_version"}
KNOWN_EXPERIMENT_FIELDS = {"_id", "name", "description", "public", "permissions", "created_at"}
KNOWN_USER_FIELDS = {"_id", "subject", "issuer", "email", "created_at"}
INDEX = re.compile(r"^drifts\[(\d+)\]\.?")


class Unmappable(ValueError):
    """A source record this migration cannot express; the message says why."""


@dataclass
class Report:
    dry_run: bool
    created: Counter[str] = field(default_factory=Counter)
    existing: Counter[str] = field(default_factory=Counter)
    skipped: list[dict[str, str]] = field(default_factory=list)
    notes: list[dict[str, str]] = field(default_factory=list)
    ignored_fields: Counter[str] = field(default_factory=Counter)
    experiments: dict[str, str] = field(default_factory=dict)  # original id -> id here

    def skip(self, kind: str, source_id: Any, reason: str) -> None:
        self.skipped.append({"kind": kind, "id": str(source_id), "reason": reason})

    def note(self, kind: str, source_id: Any, text: str) -> None:
        self.notes.append({"kind": kind, "id": str(source_id), "note": text})

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "would_create" if self.dry_run else "created": {k: v for k, v in self.created.items() if v},
            "existing": {k: v for k, v in self.existing.items() if v},
            "skipped": self.skipped,
            "notes": self.notes,
            "ignored_fields": dict(self.ignored_fields),
            "experiments": self.experiments,
        }

    def summary(self) -> str:
        verb = "would create" if self.dry_run else "created"
        kinds = ("users", "experiments", "drifts")
        lines = [f"{verb}: " + ", ".join(f"{self.created[k]} {k}" for k in kinds),
                 "already there: " + ", ".join(f"{self.existing[k]} {k}" for k in kinds)]
        if self.skipped:
            lines.append(f"could not map {len(self.skipped)} record(s):")
            lines += [f"  {s['kind']} {s['id']}: {s['reason']}" for s in self.skipped]
        if self.notes:
            lines.append("notes:")
            lines += [f"  {n['kind']} {n['id']}: {n['note']}" for n in self.notes]
        if self.ignored_fields:
            lines.append("fields not carried over: " + ", ".join(f"{k} ({v}x)" for k, v in sorted(self.ignored_fields.items())))
        return "\n".join(lines)


class Progress:
    """One progress bar on a stream: redrawn in place on a terminal, a line per 10% otherwise."""

    def __init__(self, total: int, label: str, stream: TextIO = sys.stderr) -> None:
        self.total, self.label, self.stream = max(total, 1), label, stream
        self.done = 0
        self._tty = stream.isatty()
        self._drawn = -1.0
        self._shown_tenth = -1

    def advance(self, count: int) -> None:
        self.done += count
        fraction = min(self.done / self.total, 1.0)
        if self._tty:
            if time.monotonic() - self._drawn >= 0.1 or fraction >= 1.0:
                bar = "#" * int(fraction * 30)
                self.stream.write(f"\r{self.label} [{bar:<30}] {fraction:4.0%} {self.done}/{self.total}")
                self.stream.flush()
                self._drawn = time.monotonic()
        elif int(fraction * 10) > self._shown_tenth:
            self._shown_tenth = int(fraction * 10)
            self.stream.write(f"{self.label} {fraction:.0%} {self.done}/{self.total}\n")
            self.stream.flush()

    def close(self) -> None:
        if self._tty:
            self.stream.write("\n")


# -- mapping one source document -----------------------------------------------------------------------


def parse_time(value: Any, zone: tzinfo) -> timestamp_pb2.Timestamp:
    """created_at as the original wrote it (naive ISO text in local time) or as a BSON date (UTC)."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise Unmappable(f"created_at {value!r} is not an ISO 8601 time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
    else:
        raise Unmappable("created_at is missing" if value is None else f"created_at has type {type(value).__name__}")
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment.astimezone(UTC))
    return stamp


def _plain(value: Any, where: str) -> Any:
    """A JSON-like copy of a stored value (what a protobuf Struct holds)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, where) for v in value]
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise Unmappable(f"{where} is {value}, not a finite number")
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID) or type(value).__name__ == "ObjectId":
        return str(value)
    raise Unmappable(f"{where} holds a {type(value).__name__}, which has no JSON form")


def _struct(value: Any, where: str) -> struct_pb2.Struct:
    if value is None:
        return struct_pb2.Struct()
    if not isinstance(value, Mapping):
        raise Unmappable(f"{where} is a {type(value).__name__}, not an object")
    struct = struct_pb2.Struct()
    struct.update(_plain(value, where))
    return struct


def map_user(doc: Mapping[str, Any], zone: tzinfo) -> imports_pb2.ImportedUser:
    for name in ("issuer", "subject"):
        if not isinstance(doc.get(name), str) or not doc[name]:
            raise Unmappable(f"{name} is missing")
    return imports_pb2.ImportedUser(
        issuer=doc["issuer"], subject=doc["subject"], email=doc.get("email") or "", create_time=parse_time(doc.get("created_at"), zone)
    )


def map_permissions(permissions: Any, user_ids: Mapping[str, str]) -> tuple[list[experiment_pb2.Grant], list[str]]:
    """Grants from [{entity, level}] (or the older {entity: level}); problems for the summary."""
    if isinstance(permissions, Mapping):
        pairs = list(permissions.items())
    elif isinstance(permissions, list):
        pairs = [(p.get("entity"), p.get("level")) if isinstance(p, Mapping) else (None, None) for p in permissions]
    else:
        return [], [] if permissions is None else [f"permissions has type {type(permissions).__name__}; none imported"]
    grants, problems = [], []
    for entity, level in pairs:
        if not isinstance(entity, str) or not entity:
            problems.append(f"a permission without an entity ({level!r}) was dropped")
        elif level not in LEVELS:
            problems.append(f"permission for {entity} has level {level!r}, not Read, Edit or Manage; dropped")
        else:
            grants.append(experiment_pb2.Grant(entity=user_ids.get(entity, entity), level=LEVELS[level]))
    return grants, problems


def map_experiment(doc: Mapping[str, Any], user_ids: Mapping[str, str], zone: tzinfo) -> tuple[imports_pb2.ImportExperimentRequest, list[str]]:
    if not isinstance(doc.get("name"), str):
        raise Unmappable("name is missing")
    grants, problems = map_permissions(doc.get("permissions"), user_ids)
    managers = [g.entity for g in grants if g.level == experiment_pb2.ACCESS_LEVEL_MANAGE and g.entity in user_ids.values()]
    if not managers:
        problems.append("no Manage permission names a known user: the importing admin becomes the owner")
    experiment = experiment_pb2.Experiment(
        name=doc["name"], description=doc.get("description") or "", public=bool(doc.get("public", False)), grants=grants
    )
    request = imports_pb2.ImportExperimentRequest(
        legacy_id=str(doc["_id"]), experiment=experiment, owner=managers[0] if managers else "",
        create_time=parse_time(doc.get("created_at"), zone),
    )
    return request, problems


def _result(value: Any, where: str) -> drift_pb2.DriftResult:
    if not isinstance(value, Mapping):
        raise Unmappable(f"{where} is a {type(value).__name__}, not an object")
    return drift_pb2.DriftResult(detected=bool(value.get("drift", False)), parameters=_struct(value.get("parameters"), f"{where}.parameters"))


def map_drift(doc: Mapping[str, Any], zone: tzinfo) -> imports_pb2.ImportedDrift:
    status = doc.get("job_status")
    if status not in STATUSES:
        raise Unmappable(f"job_status {status!r} is not Running, Completed or Failed")
    if not isinstance(doc.get("model"), str) or not doc["model"]:
        raise Unmappable("model is missing")
    tags = doc.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise Unmappable("tags is not a list of strings")
    drift = drift_pb2.Drift(model=doc["model"], status=STATUSES[status], tags=tags)
    if "drift_detected" in doc:  # schema 1.1: one verdict with its parameters
        drift.result.CopyFrom(drift_pb2.DriftResult(detected=bool(doc["drift_detected"]), parameters=_struct(doc.get("parameters"), "parameters")))
    for name in ("concept_drift", "data_drift"):  # schema 1.0
        if doc.get(name) is not None:
            getattr(drift, name).CopyFrom(_result(doc[name], name))
    return imports_pb2.ImportedDrift(legacy_id=str(doc["_id"]), drift=drift, create_time=parse_time(doc.get("created_at"), zone))


# -- the run ------------------------------------------------------------------------------------------


class Migrator:
    def __init__(self, client: Client, source: Any, *, zone: tzinfo, dry_run: bool, batch: int = BATCH, progress: TextIO = sys.stderr) -> None:
        self.client, self.source, self.zone, self.dry_run, self.batch = client, source, zone, dry_run, batch
        self.imports = imports_pb2_grpc.ImportServiceStub(client._channel)
        self.report = Report(dry_run)
        self.progress_stream = progress

    def _call(self, method: Any, request: Any) -> Any:
        return self.client.call(method, request)  # every import call is idempotent, so retrying is safe

    def _ignored(self, doc: Mapping[str, Any], known: set[str], kind: str) -> None:
        for name in doc.keys() - known:
            self.report.ignored_fields[f"{kind}.{name}"] += 1

    def run(self) -> Report:
        user_ids = self._users()
        experiments = list(self.source[EXPERIMENTS].find({}, sort=[("_id", 1)]))
        total = sum(self.source[f"app.{doc['_id']}"].estimated_document_count() for doc in experiments)
        progress = Progress(total, "drifts", self.progress_stream)
        for doc in experiments:
            experiment_id = self._experiment(doc, user_ids)
            self._drifts(doc["_id"], experiment_id, progress)
        progress.close()
        return self.report

    def _users(self) -> dict[str, str]:
        """Users imported; returns original user id -> User.id here."""
        ids: dict[str, str] = {}
        pending: list[tuple[Any, imports_pb2.ImportedUser]] = []
        for doc in self.source[USERS].find({}, sort=[("_id", 1)]):
            self._ignored(doc, KNOWN_USER_FIELDS, "users")
            try:
                pending.append((doc["_id"], map_user(doc, self.zone)))
            except Unmappable as exc:
                self.report.skip("user", doc["_id"], str(exc))
        progress = Progress(len(pending), "users", self.progress_stream)
        for start in range(0, len(pending), self.batch):
            chunk = pending[start : start + self.batch]
            reply = self._call(self.imports.ImportUsers, imports_pb2.ImportUsersRequest(users=[u for _, u in chunk], validate_only=self.dry_run))
            ids.update((str(source_id), new_id) for (source_id, _), new_id in zip(chunk, reply.user_ids, strict=True))
            self.report.created["users"] += reply.created_count
            self.report.existing["users"] += reply.existing_count
            progress.advance(len(chunk))
        progress.close()
        return ids

    def _experiment(self, doc: Mapping[str, Any], user_ids: Mapping[str, str]) -> str | None:
        self._ignored(doc, KNOWN_EXPERIMENT_FIELDS, "experiments")
        try:
            request, problems = map_experiment(doc, user_ids, self.zone)
        except Unmappable as exc:
            self.report.skip("experiment", doc["_id"], f"{exc}; its drifts were not imported")
            return None
        request.validate_only = self.dry_run
        try:
            reply = self._call(self.imports.ImportExperiment, request)
        except (InvalidArgumentError, AlreadyExistsError) as exc:
            self.report.skip("experiment", doc["_id"], f"{exc}; its drifts were not imported")
            return None
        for problem in problems:
            self.report.note("experiment", doc["_id"], problem)
        (self.report.created if reply.created else self.report.existing)["experiments"] += 1
        self.report.experiments[str(doc["_id"])] = reply.experiment.id
        return reply.experiment.id

    def _drifts(self, source_id: Any, experiment_id: str | None, progress: Progress) -> None:
        collection = self.source[f"app.{source_id}"]
        batch: list[tuple[Any, imports_pb2.ImportedDrift]] = []
        size = 0
        # Oldest first (the original's ISO text sorts by time), so runs are numbered here in the order they ran.
        for doc in collection.find({}, sort=[("created_at", 1), ("_id", 1)]):
            if experiment_id is None:
                progress.advance(1)
                continue
            self._ignored(doc, KNOWN_DRIFT_FIELDS, "drifts")
            try:
                item = map_drift(doc, self.zone)
            except Unmappable as exc:
                self.report.skip("drift", f"{source_id}/{doc['_id']}", str(exc))
                progress.advance(1)
                continue
            batch.append((doc["_id"], item))
            size += item.ByteSize()
            if len(batch) >= self.batch or size >= MAX_BATCH_BYTES:
                self._send(source_id, experiment_id, batch, progress)
                batch, size = [], 0
        if batch and experiment_id is not None:
            self._send(source_id, experiment_id, batch, progress)

    def _send(self, source_id: Any, experiment_id: str, batch: list[tuple[Any, imports_pb2.ImportedDrift]], progress: Progress) -> None:
        """One ImportDrifts call; a drift the server refuses is dropped into the summary and the rest resent."""
        while batch:
            request = imports_pb2.ImportDriftsRequest(experiment_id=experiment_id, drifts=[d for _, d in batch], validate_only=self.dry_run)
            try:
                reply = self._call(self.imports.ImportDrifts, request)
            except InvalidArgumentError as exc:
                match = INDEX.match(exc.field)
                if match is None:
                    raise
                bad = int(match.group(1))
                self.report.skip("drift", f"{source_id}/{batch[bad][0]}", INDEX.sub("", str(exc)).lstrip("."))
                del batch[bad]
                progress.advance(1)
                continue
            self.report.created["drifts"] += reply.created_count
            self.report.existing["drifts"] += reply.existing_count
            progress.advance(len(batch))
            return


def open_source(uri: str, database: str) -> Iterator[Any]:
    try:
        import pymongo  # noqa: PLC0415 - only this command needs it (the `migrate` extra)
    except ImportError as exc:
        raise SystemExit(f"drift-monitor migrate: {exc}; install it with: pip install 'drift-monitor[migrate]'") from None
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=10_000, uuidRepresentation="standard")
    try:
        yield client[database] if database else client.get_default_database(DEFAULT_DATABASE)
    finally:
        client.close()


def zone_named(name: str) -> tzinfo:
    return UTC if name.upper() == "UTC" else ZoneInfo(name)
