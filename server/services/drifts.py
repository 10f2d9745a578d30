"""DriftService: record, read, update and watch the runs of an experiment."""

from __future__ import annotations

import hashlib
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import grpc
from bson import ObjectId
from google.api import httpbody_pb2
from google.protobuf import empty_pb2, struct_pb2, timestamp_pb2
from pymongo.errors import BulkWriteError, DuplicateKeyError

from drift_monitoring.v1 import drift_pb2, drift_pb2_grpc
from server import audit, export, leases, ordinals, validation
from server.convert import RESULT_FIELDS, STATUS_NAMES, STATUS_NUMBERS, drift_to_proto, result_from_proto
from server.db import now
from server.errors import invalid, not_found, out_of_range
from server.events import CREATED, DELETED, EXPERIMENT_ACCESS, EXPERIMENT_DELETED, HEARTBEAT, UPDATED, LogEvent, PositionError, PositionPruned
from server.element_match import split as split_element_matches
from server.filtering import ElementList, FieldSpec
from server.listing import ListSpec, Ordering, conjoin
from server.models import DRIFT_ORDER_FIELDS, Drift, Event, conform
from server.pagetokens import PageTokenError, decode_page_token, encode_page_token
from server.permissions import Level, require
from server.quota import StreamQuota
from server.stream_access import StreamAccess
from server.services.common import Deps, compile_user_filter, object_id, streaming, unary
from server.services.experiments import load as load_experiment

FILTER_FIELDS = {
    "model": FieldSpec("model", "string"),
    "status": FieldSpec("status", "enum", tuple(STATUS_NAMES.values())),
    "tags": FieldSpec("tags", "string_list"),
    "creator": FieldSpec("creator", "string"),
    "error_message": FieldSpec("error_message", "string"),
    **{f"{name}.detected": FieldSpec(f"{name}.detected", "bool") for name in RESULT_FIELDS},
    **{name: FieldSpec(name, "time") for name in ("create_time", "update_time", "start_time", "end_time")},
}
FILTER_PREFIXES = {f"{name}.parameters": f"{name}.parameters" for name in RESULT_FIELDS}
# Per-feature results (FeatureResult): conditions joined by AND match the same feature (server/element_match.py).
FEATURE_MEMBERS = {
    "feature": FieldSpec("feature", "string"),
    "test": FieldSpec("test", "string"),
    "statistic": FieldSpec("statistic", "number"),
    "p_value": FieldSpec("p_value", "number"),
    "threshold": FieldSpec("threshold", "number"),
    "detected": FieldSpec("detected", "bool"),
}
FILTER_LISTS = {f"{name}.features": ElementList(f"{name}.features", FEATURE_MEMBERS) for name in RESULT_FIELDS}
MASK_PATHS = ("model", "status", "tags", *RESULT_FIELDS, "error_message", "start_time", "end_time")
TERMINAL = leases.TERMINAL
# Compare-and-set attempts when the status changes between an update's read and its write.
CAS_ATTEMPTS = 5
# The default order is creation order, newest first, paged by bucket (ordinals.py); order_by sorts by a field.
LISTING = ListSpec(Drift._get_collection, DRIFT_ORDER_FIELDS, Ordering("ordinal", descending=True), ordinals.BUCKET, ObjectId, ordinals.page)
MAX_BATCH = 1000
EXPORT_FORMATS = {drift_pb2.EXPORT_FORMAT_CSV: "csv", drift_pb2.EXPORT_FORMAT_JSON_LINES: "jsonl", drift_pb2.EXPORT_FORMAT_PARQUET: "parquet"}
EVENT_TYPES = {
    CREATED: drift_pb2.DRIFT_EVENT_TYPE_CREATED,
    UPDATED: drift_pb2.DRIFT_EVENT_TYPE_UPDATED,
    DELETED: drift_pb2.DRIFT_EVENT_TYPE_DELETED,
    HEARTBEAT: drift_pb2.DRIFT_EVENT_TYPE_HEARTBEAT,
}


def _collection() -> Any:
    return Drift._get_collection()


def _time(field: str, value: timestamp_pb2.Timestamp) -> datetime:
    moment = validation.timestamp(field, value).ToDatetime(tzinfo=UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _changes(prefix: str, drift: drift_pb2.Drift, paths: Sequence[str]) -> dict[str, Any]:
    """Validated stored values for the given paths of a Drift message."""
    out: dict[str, Any] = {}
    size = sum(getattr(drift, name).parameters.ByteSize() for name in RESULT_FIELDS if name in paths)
    if size > validation.MAX_PARAMETER_BYTES:
        name = next(n for n in RESULT_FIELDS if n in paths and getattr(drift, n).parameters.ByteSize())
        raise invalid(f"{prefix}.{name}.parameters", f"parameters of a drift total {size} bytes; the limit is {validation.MAX_PARAMETER_BYTES}")
    for path in paths:
        where = f"{prefix}.{path}"
        if path == "model":
            out[path] = validation.text(where, drift.model, low=1, high=validation.MAX_MODEL)
        elif path == "status":
            out[path] = validation.enum_value(where, drift.status, STATUS_NAMES)
        elif path == "tags":
            out[path] = validation.tags(where, drift.tags)
        elif path in RESULT_FIELDS:
            out[path] = result_from_proto(where, getattr(drift, path)) if drift.HasField(path) else None
        elif path == "error_message":
            out[path] = validation.text(where, drift.error_message, low=0, high=validation.MAX_ERROR_MESSAGE)
        elif path in ("start_time", "end_time"):
            out[path] = _time(where, getattr(drift, path)) if drift.HasField(path) else None
    return out


def drift_id_for(experiment: ObjectId, request_id: str) -> ObjectId:
    """The _id a request_id always maps to, so a retried create finds its drift by primary key.
    (FerretDB v1 answers only _id equality from an index; any other lookup scans the collection.)"""
    return ObjectId(hashlib.sha256(f"{experiment}\0{request_id}".encode()).digest()[:12])


def created_event_query(drift_id: ObjectId) -> dict[str, Any]:
    """The drift's CREATED event, by the events' drift_id index (top-level keys: FerretDB pushes them down)."""
    return {"drift_id": drift_id, "type": CREATED}


def _find(experiment: ObjectId, drift_id: ObjectId) -> dict[str, Any] | None:
    """The drift by _id, if it belongs to this experiment (checked here, so the query stays on _id)."""
    doc = _collection().find_one({"_id": drift_id})
    return doc if doc is not None and doc["experiment"] == experiment else None


def _check_total_parameters(doc: dict[str, Any]) -> None:
    """The 64 KiB limit holds for the drift as stored after an update, not only for what the update sends."""
    structs = [struct_pb2.Struct() for _ in RESULT_FIELDS]
    for struct, name in zip(structs, RESULT_FIELDS, strict=True):
        struct.update((doc.get(name) or {}).get("parameters") or {})
    size = sum(struct.ByteSize() for struct in structs)
    if size > validation.MAX_PARAMETER_BYTES:
        raise invalid("drift", f"parameters of this drift would total {size} bytes; the limit is {validation.MAX_PARAMETER_BYTES}")


def new_drift_doc(prefix: str, drift: drift_pb2.Drift, experiment: ObjectId, creator: str, request_id: str) -> dict[str, Any]:
    if len(request_id) > validation.MAX_REQUEST_ID:
        raise invalid("request_id", f"must be at most {validation.MAX_REQUEST_ID} characters")
    paths = ["model", "tags", *(n for n in RESULT_FIELDS if drift.HasField(n)), "error_message", "start_time", "end_time"]
    if drift.status:
        paths.append("status")
    doc = _changes(prefix, drift, paths)
    moment = now()
    doc.setdefault("status", "RUNNING")
    if doc["status"] == "LOST":
        raise invalid(f"{prefix}.status", "LOST is set only by the server, when a run's lease expires")
    doc["start_time"] = doc["start_time"] or moment
    if doc["end_time"] is None and doc["status"] in TERMINAL:
        doc["end_time"] = moment
    if drift.HasField("lease_duration"):
        duration = leases.lease_ms(f"{prefix}.lease_duration", drift.lease_duration)
        doc["lease_duration_ms"] = duration
        doc["lease_expire_time"] = leases.expiry(moment, duration) if doc["status"] == "RUNNING" else None
    request_id = request_id or uuid.uuid4().hex
    doc.update(
        _id=drift_id_for(experiment, request_id), experiment=experiment, creator=creator, request_id=request_id,
        create_time=moment, update_time=moment,
    )
    return doc


class DriftService(drift_pb2_grpc.DriftServiceServicer):
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.streams = StreamQuota(deps.settings.max_watches_per_user)
        self._messages = _EventMessages()

    async def _experiment(
        self, experiment_id: str, context: grpc.aio.ServicerContext, level: Level, field: str = "experiment_id"
    ) -> ObjectId:
        caller = await self.deps.caller(context)
        doc = await self.deps.db.run(load_experiment, object_id(field, experiment_id))
        require(doc, caller, level)
        return doc["_id"]  # type: ignore[index]

    async def _writable(
        self, experiment_id: str, context: grpc.aio.ServicerContext, field: str = "experiment_id"
    ) -> tuple[ObjectId, str]:
        caller = await self.deps.writer(context)
        return await self._experiment(experiment_id, context, Level.EDIT, field), caller.user_id or ""

    # -- create ---------------------------------------------------------------------------------------

    @unary
    async def CreateDrift(self, request: drift_pb2.CreateDriftRequest, context: grpc.aio.ServicerContext) -> drift_pb2.Drift:
        experiment, creator = await self._writable(request.experiment_id, context)
        doc = new_drift_doc("drift", request.drift, experiment, creator, request.request_id)
        return drift_to_proto(await self.deps.db.run(self._insert_one, doc))

    def _insert_one(self, doc: dict[str, Any]) -> dict[str, Any]:
        ordinals.stamp(_collection(), [doc])
        conform(Drift, doc)
        with self.deps.events.drift_lock(doc["_id"]):
            try:
                _collection().insert_one(doc)
            except DuplicateKeyError:  # a retry: answer with what the first request stored
                return self._replayed(doc["_id"])
            self.deps.events.append(doc["experiment"], CREATED, doc)
        return doc

    def _replayed(self, drift_id: ObjectId) -> dict[str, Any]:
        """The stored drift of a retried create, its CREATED event appended if the first attempt never
        got to it: a server killed between the two writes (no transactions on FerretDB v1) would leave
        a drift that no watcher ever hears of. A spool sync retries every run, so the question is asked of
        the drift_id index (declared on Event; pushed down on FerretDB), never by scanning the log."""
        stored = _collection().find_one({"_id": drift_id})
        if stored is not None and Event._get_collection().find_one(created_event_query(drift_id), {"_id": 1}) is None:
            self.deps.events.append(stored["experiment"], CREATED, stored)
        return stored

    @unary
    async def BatchCreateDrifts(self, request: drift_pb2.BatchCreateDriftsRequest, context: grpc.aio.ServicerContext) -> drift_pb2.BatchCreateDriftsResponse:
        experiment, creator = await self._writable(request.experiment_id, context)  # who asks comes first
        if not request.requests:
            raise invalid("requests", "at least one request is required")
        if len(request.requests) > MAX_BATCH:
            raise invalid("requests", f"at most {MAX_BATCH} drifts per batch, got {len(request.requests)}")
        docs = []
        for index, item in enumerate(request.requests):
            if item.experiment_id not in ("", request.experiment_id):
                raise invalid(f"requests[{index}].experiment_id", "must be empty or equal to experiment_id")
            docs.append(new_drift_doc(f"requests[{index}].drift", item.drift, experiment, creator, item.request_id))
        stored = await self.deps.db.run(self._insert_many, docs)
        return drift_pb2.BatchCreateDriftsResponse(drifts=[drift_to_proto(doc) for doc in stored])

    def _insert_many(self, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        repeated: set[int] = set()
        ordinals.stamp(_collection(), docs)
        for doc in docs:
            conform(Drift, doc)
        try:
            _collection().insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(error.get("code") != 11000 for error in errors):
                raise
            repeated = {error["index"] for error in errors}
        fresh = [doc for index, doc in enumerate(docs) if index not in repeated]
        if fresh:
            self.deps.events.append_many(fresh[0]["experiment"], CREATED, fresh)
        return [self._replayed(doc["_id"]) if index in repeated else doc for index, doc in enumerate(docs)]

    # -- read -----------------------------------------------------------------------------------------

    @unary
    async def GetDrift(self, request: drift_pb2.GetDriftRequest, context: grpc.aio.ServicerContext) -> drift_pb2.Drift:
        experiment = await self._experiment(request.experiment_id, context, Level.READ)
        drift_id = object_id("drift_id", request.drift_id)
        doc = await self.deps.db.run(_find, experiment, drift_id)
        if doc is None:
            raise not_found("drift")
        return drift_to_proto(doc)

    @unary
    async def ListDrifts(self, request: drift_pb2.ListDriftsRequest, context: grpc.aio.ServicerContext) -> drift_pb2.ListDriftsResponse:
        experiment = await self._experiment(request.experiment_id, context, Level.READ)
        condition = compile_user_filter(request.filter, FILTER_FIELDS, FILTER_PREFIXES, FILTER_LISTS)
        condition, keep = split_element_matches(condition or {})
        query = conjoin({"experiment": experiment}, condition)
        docs, next_token = await self.deps.list_page(LISTING, request, query, scope=f"drifts/{experiment}", keep=keep)
        return drift_pb2.ListDriftsResponse(drifts=[drift_to_proto(doc) for doc in docs], next_page_token=next_token)

    # -- update and delete ----------------------------------------------------------------------------

    @unary
    async def UpdateDrift(self, request: drift_pb2.UpdateDriftRequest, context: grpc.aio.ServicerContext) -> drift_pb2.Drift:
        given = request.drift
        experiment, _ = await self._writable(given.experiment_id, context, "drift.experiment_id")
        drift_id = object_id("drift.id", given.id)
        changes = _changes("drift", given, _mask_paths(request))
        if changes.get("status") in TERMINAL and "end_time" not in changes:
            changes["end_time"] = now()
        if "start_time" in changes and changes["start_time"] is None:
            raise invalid("drift.start_time", "cannot be cleared")
        changes["update_time"] = now()
        doc = await self.deps.db.run(self._update, experiment, drift_id, changes)
        if doc is None:
            raise not_found("drift")
        return drift_to_proto(doc)

    def _update(self, experiment: ObjectId, drift_id: ObjectId, changes: dict[str, Any]) -> dict[str, Any] | None:
        with self.deps.events.drift_lock(drift_id):
            for _ in range(CAS_ATTEMPTS):
                current = _find(experiment, drift_id)
                if current is None:
                    return None
                update = dict(changes)
                if "status" in changes:
                    leases.check_transition(current["status"], changes["status"])
                    for name, value in leases.status_changes(current, changes["status"], changes["update_time"]).items():
                        update.setdefault(name, value)  # an end_time the caller gave wins
                doc = {**current, **update}  # what $set of top-level fields stores: no read-back needed
                _check_total_parameters(doc)
                conform(Drift, doc)
                # Conditional on the status read, so a concurrent change (another process, the lease sweeper)
                # is re-checked against the state machine. update_one, not find_one_and_update: on FerretDB
                # each query by _id scans the collection.
                if _collection().update_one({"_id": drift_id, "status": current["status"]}, {"$set": update}).matched_count:
                    self.deps.events.append(experiment, UPDATED, doc)
                    return doc
        raise leases.contended()

    @unary
    async def RenewDriftLease(self, request: drift_pb2.RenewDriftLeaseRequest, context: grpc.aio.ServicerContext) -> drift_pb2.RenewDriftLeaseResponse:
        experiment, _ = await self._writable(request.experiment_id, context)
        drift_id = object_id("drift_id", request.drift_id)
        duration = leases.lease_ms("lease_duration", request.lease_duration) if request.HasField("lease_duration") else None
        doc = await self.deps.db.run(self._renew, experiment, drift_id, duration)
        if doc is None:
            raise not_found("drift")
        response = drift_pb2.RenewDriftLeaseResponse(status=STATUS_NUMBERS[doc["status"]])
        response.lease_expire_time.FromDatetime(doc["lease_expire_time"])
        return response

    def _renew(self, experiment: ObjectId, drift_id: ObjectId, duration: int | None) -> dict[str, Any] | None:
        """Extend the lease of a RUNNING drift (no event: only the expiry moves), or bring a LOST one
        back to RUNNING (an event: the job turned out to be alive)."""
        with self.deps.events.drift_lock(drift_id):
            for _ in range(CAS_ATTEMPTS):
                current = _find(experiment, drift_id)
                if current is None:
                    return None
                status = current["status"]
                if status in TERMINAL:
                    raise leases.wrong_status(status, "take a heartbeat; a finished run has no lease")
                length = duration or current.get("lease_duration_ms")
                if not length:
                    raise invalid("lease_duration", "is required: this drift was created without a lease")
                moment = now()
                update: dict[str, Any] = {"lease_duration_ms": length, "lease_expire_time": leases.expiry(moment, length)}
                if status == "LOST":
                    update.update(status="RUNNING", end_time=None, status_reason="", update_time=moment)
                doc = {**current, **update}
                conform(Drift, doc)
                if _collection().update_one({"_id": drift_id, "status": status}, {"$set": update}).matched_count:
                    if status == "LOST":
                        self.deps.events.append(experiment, UPDATED, doc)
                    return doc
        raise leases.contended()

    @unary
    async def DeleteDrift(self, request: drift_pb2.DeleteDriftRequest, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        experiment, _ = await self._writable(request.experiment_id, context)
        drift_id = object_id("drift_id", request.drift_id)
        if (gone := await self.deps.db.run(self._delete, experiment, drift_id)) is None:
            raise not_found("drift")
        await self.deps.db.run(audit.record_drift_delete, await self.deps.caller(context), experiment, gone)
        return empty_pb2.Empty()

    def _delete(self, experiment: ObjectId, drift_id: ObjectId) -> dict[str, Any] | None:
        """The drift as it was before it was deleted, or None when there was none."""
        with self.deps.events.drift_lock(drift_id):
            found = _find(experiment, drift_id)
            if found is None or not _collection().delete_one({"_id": drift_id}).deleted_count:
                return None
            self.deps.events.append(experiment, DELETED, {"_id": drift_id, "experiment": experiment})
        return found

    # -- watch ----------------------------------------------------------------------------------------

    @streaming
    async def WatchDrifts(self, request: drift_pb2.WatchDriftsRequest, context: grpc.aio.ServicerContext) -> AsyncIterator[drift_pb2.WatchDriftsResponse]:
        caller = await self.deps.caller(context)
        doc = await self.deps.db.run(load_experiment, object_id("experiment_id", request.experiment_id))
        require(doc, caller, Level.READ)
        experiment = doc["_id"]  # type: ignore[index]
        access = StreamAccess(caller, experiment, self.deps.settings.watch_recheck_seconds)
        secret = self.deps.settings.token_secret
        after = None
        if request.resume_token:
            try:
                after = int(decode_page_token(secret, request.resume_token, expect={})["seq"])
            except (PageTokenError, KeyError, TypeError, ValueError):
                raise invalid("resume_token", "is not a token this server issued; start again without it") from None
        try:
            with self.streams.hold(await self._stream_owner(context)):
                async for event in self.deps.events.watch(experiment, after, self.deps.settings.heartbeat_seconds):
                    if event.type == EXPERIMENT_DELETED:
                        raise not_found("experiment")
                    access.check_token()  # before anything more is sent
                    if event.type == EXPERIMENT_ACCESS or access.recheck_due():
                        access.check(await self.deps.db.run(load_experiment, experiment))
                    if event.type != EXPERIMENT_ACCESS:
                        yield self._messages.get(event, secret)
        except PositionPruned as exc:
            raise out_of_range("resume_token", str(exc)) from None
        except PositionError as exc:
            raise invalid("resume_token", str(exc)) from None

    # -- export ---------------------------------------------------------------------------------------

    @streaming
    async def ExportDrifts(self, request: drift_pb2.ExportDriftsRequest, context: grpc.aio.ServicerContext) -> AsyncIterator[httpbody_pb2.HttpBody]:
        experiment = await self._experiment(request.experiment_id, context, Level.READ)
        kind = EXPORT_FORMATS.get(request.format)
        if kind is None:
            raise invalid("format", "is required; use EXPORT_FORMAT_CSV, EXPORT_FORMAT_JSON_LINES or EXPORT_FORMAT_PARQUET")
        if request.csv_row_per_feature and kind != "csv":
            raise invalid("csv_row_per_feature", "applies to EXPORT_FORMAT_CSV only")
        condition = compile_user_filter(request.filter, FILTER_FIELDS, FILTER_PREFIXES)
        walk = await self.deps.db.run(export.Walk, _collection(), export.experiment_query(experiment, condition))
        encoder = export.ENCODERS[kind](request.csv_row_per_feature)
        progress = drift_pb2.ExportProgress()
        sent = False
        while True:
            page = await self.deps.db.run(walk.next_page)
            # Encoding is CPU work: in the pool too, never on the event loop.
            data = await (self.deps.db.run(encoder.finish) if page is None else self.deps.db.run(encoder.encode, page))
            progress.runs_exported += len(page or ())
            progress.fraction_done = walk.fraction
            # With progress at least one message a page, so the bar moves; without, only data (and one
            # message in all, so a REST caller of an empty export still gets its Content-Type).
            for chunk in export.chunks(data) or ([b""] if request.progress or not sent else []):
                message = httpbody_pb2.HttpBody(content_type=export.CONTENT_TYPES[kind], data=chunk)
                if request.progress:
                    message.extensions.add().Pack(progress)
                sent = True
                yield message
            if page is None:
                return

    async def _stream_owner(self, context: grpc.aio.ServicerContext) -> str:
        """Whose quota a stream counts against: the user, or for anonymous callers the address Envoy saw."""
        caller = await self.deps.caller(context)
        if caller.user_id:
            return caller.user_id
        forwarded = dict((k, v) for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)).get("x-forwarded-for", "")
        return "anonymous:" + forwarded.rsplit(",", 1)[-1].strip()


class _EventMessages:
    """Each event's message made once for all the streams that carry it (a thousand watchers of one
    experiment must not convert the same drift a thousand times); heartbeats are per stream."""

    SIZE = 4096

    def __init__(self) -> None:
        self._by_seq: OrderedDict[int, drift_pb2.WatchDriftsResponse] = OrderedDict()

    def get(self, event: LogEvent, secret: bytes) -> drift_pb2.WatchDriftsResponse:
        if event.type == HEARTBEAT:
            return _event_message(event, encode_page_token(secret, {"seq": event.seq}))
        message = self._by_seq.get(event.seq)
        if message is None:
            message = self._by_seq[event.seq] = _event_message(event, encode_page_token(secret, {"seq": event.seq}))
            if len(self._by_seq) > self.SIZE:
                self._by_seq.popitem(last=False)
        return message


def _event_message(event: LogEvent, token: str) -> drift_pb2.WatchDriftsResponse:
    message = drift_pb2.WatchDriftsResponse(type=EVENT_TYPES[event.type], resume_token=token)
    if event.type == DELETED:
        message.drift.id, message.drift.experiment_id = str(event.drift["_id"]), str(event.drift["experiment"])
    elif event.drift:
        message.drift.CopyFrom(drift_to_proto(event.drift))
    if event.time is not None:
        message.event_time.FromDatetime(event.time)
    return message


def _mask_paths(request: drift_pb2.UpdateDriftRequest) -> list[str]:
    paths = list(dict.fromkeys(request.update_mask.paths))
    if "*" in paths:
        return list(MASK_PATHS)
    if unknown := set(paths) - set(MASK_PATHS):
        raise invalid("update_mask", f"unknown path {sorted(unknown)[0]!r}; allowed: {', '.join(MASK_PATHS)}")
    if paths:
        return paths
    given = request.drift  # no mask: every populated field (AIP-134)
    return [
        path for path in MASK_PATHS
        if (given.HasField(path) if path in (*RESULT_FIELDS, "start_time", "end_time") else bool(getattr(given, path)))
    ]
