"""ImportService: admin-only import of history from another system, keeping original times and creators.

Every record's _id is derived from its id in the source system, so a second import of the same record
hits the primary key and changes nothing: an import is idempotent and an interrupted one is finished by
running it again. Imports write no watch events (they are history, not live changes); each call that
creates something leaves one audit entry, and a call that creates nothing leaves none.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import grpc
from bson import ObjectId
from pymongo.errors import BulkWriteError, DuplicateKeyError

from drift_monitoring.v1 import imports_pb2, imports_pb2_grpc
from server import audit, ordinals, validation
from server.convert import experiment_to_proto, grants_from_proto
from server.errors import already_exists, invalid, not_found, permission_denied, unauthenticated
from server.identity import Caller, user_id_for
from server.models import Drift, Experiment, User, conform
from server.permissions import Level
from server.services.common import Deps, object_id, unary
from server.services.drifts import new_drift_doc

MAX_BATCH = 1000
MAX_LEGACY_ID = 100
LEGACY_PREFIX = "legacy:"  # request_id of an imported drift: LEGACY_PREFIX + its id in the source system


def experiment_id_for(legacy_id: str) -> ObjectId:
    return ObjectId(hashlib.sha256(f"imported experiment\0{legacy_id}".encode()).digest()[:12])


def _time(field: str, value: Any) -> datetime:
    if not value.seconds and not value.nanos:
        raise invalid(field, "is required")
    moment = validation.timestamp(field, value).ToDatetime(tzinfo=UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _insert_new(collection: Any, document: type[Any], docs: list[dict[str, Any]]) -> int:
    """Insert what is not there yet (by _id); returns how many were created."""
    for doc in docs:
        conform(document, doc)
    try:
        collection.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(error.get("code") != 11000 for error in errors):
            raise
        return len(docs) - len(errors)
    return len(docs)


def _existing(collection: Any, ids: list[Any]) -> int:
    return collection.count_documents({"_id": {"$in": ids}})


class ImportService(imports_pb2_grpc.ImportServiceServicer):
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def _admin(self, context: grpc.aio.ServicerContext) -> Caller:
        caller = await self.deps.caller(context)
        if caller.user_id is None:
            raise unauthenticated("sign in first: this call needs a token")
        if not caller.admin:
            raise permission_denied("admin")
        return await self.deps.writer(context)

    @unary
    async def ImportUsers(self, request: imports_pb2.ImportUsersRequest, context: grpc.aio.ServicerContext) -> imports_pb2.ImportUsersResponse:
        caller = await self._admin(context)
        _batch("users", len(request.users))
        docs = []
        for index, user in enumerate(request.users):
            where = f"users[{index}]"
            issuer = validation.text(f"{where}.issuer", user.issuer, low=1, high=validation.MAX_ENTITY)
            subject = validation.text(f"{where}.subject", user.subject, low=1, high=validation.MAX_ENTITY)
            created = _time(f"{where}.create_time", user.create_time)
            docs.append({
                "_id": user_id_for(issuer, subject), "issuer": issuer, "subject": subject,
                "name": validation.text(f"{where}.name", user.name, low=0, high=validation.MAX_NAME),
                "email": validation.text(f"{where}.email", user.email, low=0, high=validation.MAX_ENTITY),
                "entitlements": [], "create_time": created, "update_time": created, "terms_accept_time": created,
            })
        ids = [doc["_id"] for doc in docs]
        created = await self.deps.db.run(self._store_users, caller, docs, request.validate_only)
        return imports_pb2.ImportUsersResponse(created_count=created, existing_count=len(docs) - created, user_ids=ids)

    def _store_users(self, caller: Caller, docs: list[dict[str, Any]], validate_only: bool) -> int:
        collection = User._get_collection()
        unique = list({doc["_id"]: doc for doc in docs}.values())
        if validate_only:
            return len(unique) - _existing(collection, [doc["_id"] for doc in unique])
        created = _insert_new(collection, User, unique)
        if created:
            audit.record(caller, "import.users", after={"created": created, "existing": len(docs) - created})
        return created

    @unary
    async def ImportExperiment(self, request: imports_pb2.ImportExperimentRequest, context: grpc.aio.ServicerContext) -> imports_pb2.ImportExperimentResponse:
        caller = await self._admin(context)
        legacy_id = validation.text("legacy_id", request.legacy_id, low=1, high=validation.MAX_NAME)
        given = request.experiment
        created = _time("create_time", request.create_time)
        doc = {
            "_id": experiment_id_for(legacy_id),
            "name": validation.text("experiment.name", given.name, low=1, high=validation.MAX_NAME),
            "description": validation.text("experiment.description", given.description, low=0, high=validation.MAX_DESCRIPTION),
            "public": given.public,
            "grants": grants_from_proto("experiment.grants", given.grants),
            "owner": validation.text("owner", request.owner, low=0, high=validation.MAX_ENTITY) or caller.user_id,
            "create_time": created,
            "update_time": created,
            "legacy_id": legacy_id,
        }
        stored, fresh = await self.deps.db.run(self._store_experiment, caller, doc, request.validate_only)
        return imports_pb2.ImportExperimentResponse(experiment=experiment_to_proto(stored, Level.MANAGE), created=fresh)

    def _store_experiment(self, caller: Caller, doc: dict[str, Any], validate_only: bool) -> tuple[dict[str, Any], bool]:
        collection = Experiment._get_collection()
        if (stored := collection.find_one({"_id": doc["_id"]})) is not None:
            return stored, False
        if validate_only:
            if collection.count_documents({"name": doc["name"]}, limit=1):
                raise already_exists("experiment", "experiment.name")
            return doc, True
        conform(Experiment, doc)
        try:
            collection.insert_one(doc)
        except DuplicateKeyError:
            if (stored := collection.find_one({"_id": doc["_id"]})) is not None:
                return stored, False  # a concurrent import of the same record got there first
            raise already_exists("experiment", "experiment.name") from None
        audit.record(caller, "import.experiment", experiment=doc, after={"legacy_id": doc["legacy_id"], "owner": doc["owner"]})
        return doc, True

    @unary
    async def ImportDrifts(self, request: imports_pb2.ImportDriftsRequest, context: grpc.aio.ServicerContext) -> imports_pb2.ImportDriftsResponse:
        caller = await self._admin(context)
        experiment_id = object_id("experiment_id", request.experiment_id)
        _batch("drifts", len(request.drifts))
        experiment = await self.deps.db.run(Experiment._get_collection().find_one, {"_id": experiment_id})
        if experiment is None:
            if not request.validate_only:
                raise not_found("experiment")
            # A dry run of a whole migration checks drifts of experiments it has not created.
            experiment = {"_id": experiment_id, "owner": caller.user_id, "name": ""}
        docs = [self._drift_doc(f"drifts[{index}]", item, experiment) for index, item in enumerate(request.drifts)]
        created = await self.deps.db.run(self._store_drifts, caller, experiment, docs, request.validate_only)
        return imports_pb2.ImportDriftsResponse(
            created_count=created, existing_count=len(docs) - created, drift_ids=[str(doc["_id"]) for doc in docs]
        )

    @staticmethod
    def _drift_doc(where: str, item: imports_pb2.ImportedDrift, experiment: dict[str, Any]) -> dict[str, Any]:
        legacy_id = validation.text(f"{where}.legacy_id", item.legacy_id, low=1, high=MAX_LEGACY_ID)
        creator = validation.text(f"{where}.creator", item.creator, low=0, high=validation.MAX_ENTITY) or experiment["owner"]
        created = _time(f"{where}.create_time", item.create_time)
        request_id = LEGACY_PREFIX + legacy_id
        doc = new_drift_doc(f"{where}.drift", item.drift, experiment["_id"], creator, request_id)
        doc.update(
            create_time=created, update_time=created,
            start_time=doc["start_time"] if item.drift.HasField("start_time") else created,
            end_time=doc["end_time"] if item.drift.HasField("end_time") else None,
        )
        return doc

    def _store_drifts(self, caller: Caller, experiment: dict[str, Any], docs: list[dict[str, Any]], validate_only: bool) -> int:
        collection = Drift._get_collection()
        unique = list({doc["_id"]: doc for doc in docs}.values())
        there = {doc["_id"] for doc in collection.find({"_id": {"$in": [doc["_id"] for doc in unique]}}, {"_id": 1})}
        fresh = [doc for doc in unique if doc["_id"] not in there]
        if validate_only or not fresh:
            return len(fresh)  # a repeated import touches nothing, not even the ordinal counter
        # In creation order after the experiment's drifts, oldest first among themselves (server/ordinals.py).
        ordinals.stamp(collection, sorted(fresh, key=lambda doc: (doc["create_time"], doc["_id"])), restamp=False)
        created = _insert_new(collection, Drift, fresh)
        if created:
            audit.record(caller, "import.drifts", experiment=experiment, after={"created": created, "existing": len(docs) - created})
        return created


def _batch(field: str, count: int) -> None:
    if not count:
        raise invalid(field, "at least one is required")
    if count > MAX_BATCH:
        raise invalid(field, f"at most {MAX_BATCH} per call, got {count}")
