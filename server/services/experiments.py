"""ExperimentService: thin handlers over blocking store functions run in the database pool."""

from __future__ import annotations

from typing import Any

import grpc
from bson import ObjectId
from google.protobuf import empty_pb2
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError, OperationFailure

from drift_monitoring.v1 import experiment_pb2, experiment_pb2_grpc
from server import audit, ordinals, validation
from server.convert import experiment_to_proto, grants_from_proto
from server.db import is_duplicate, now
from server.errors import already_exists, invalid, not_found
from server.events import EXPERIMENT_ACCESS, EXPERIMENT_DELETED
from server.filtering import FieldSpec
from server.identity import Caller
from server.listing import ListSpec, Ordering
from server.models import EXPERIMENT_ORDER_FIELDS, Drift, Experiment, conform
from server.permissions import Level, access_level, readable_query, require
from server.services.common import Deps, compile_user_filter, object_id, unary


def delete_alerts_of(experiment_id: ObjectId) -> None:
    from server.services.alerts import delete_for_experiment  # noqa: PLC0415 - alerts imports this module

    delete_for_experiment(experiment_id)

FILTER_FIELDS = {
    "name": FieldSpec("name", "string"),
    "description": FieldSpec("description", "string"),
    "public": FieldSpec("public", "bool"),
    "owner": FieldSpec("owner", "string"),
    "create_time": FieldSpec("create_time", "time"),
    "update_time": FieldSpec("update_time", "time"),
}
MASK_PATHS = ("name", "description", "public", "grants", "retention_days", "retention_runs")
RETENTION = ("retention_days", "retention_runs")
RETENTION_LIMITS = {"retention_days": validation.MAX_RETENTION_DAYS, "retention_runs": validation.MAX_RETENTION_RUNS}
LISTING = ListSpec(Experiment._get_collection, EXPERIMENT_ORDER_FIELDS, Ordering("name", descending=False), 50, ObjectId)


def _collection() -> Any:
    return Experiment._get_collection()


def load(experiment_id: ObjectId) -> dict[str, Any] | None:
    return _collection().find_one({"_id": experiment_id})


def load_by_name(name: str) -> dict[str, Any] | None:
    # Plain equality on a string: the value is never read as a pattern (unlike the filter language's `*`).
    return _collection().find_one({"name": {"$eq": name}})


class ExperimentService(experiment_pb2_grpc.ExperimentServiceServicer):
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def _require(
        self, experiment_id: str, context: grpc.aio.ServicerContext, level: Level, field: str = "experiment_id"
    ) -> tuple[dict[str, Any], Level]:
        caller = await self.deps.caller(context)
        doc = await self.deps.db.run(load, object_id(field, experiment_id))
        return doc, require(doc, caller, level)  # type: ignore[return-value]

    @unary
    async def CreateExperiment(self, request: experiment_pb2.CreateExperimentRequest, context: grpc.aio.ServicerContext) -> experiment_pb2.Experiment:
        caller = await self.deps.writer(context)
        given = request.experiment
        moment = now()
        doc = {
            "name": validation.text("experiment.name", given.name, low=1, high=validation.MAX_NAME),
            "description": validation.text("experiment.description", given.description, low=0, high=validation.MAX_DESCRIPTION),
            "public": given.public,
            "grants": grants_from_proto("experiment.grants", given.grants),
            "owner": caller.user_id,
            **{name: validation.count(f"experiment.{name}", getattr(given, name), RETENTION_LIMITS[name]) for name in RETENTION},
            "create_time": moment,
            "update_time": moment,
        }
        conform(Experiment, doc)
        try:
            await self.deps.db.run(_collection().insert_one, doc)
        except DuplicateKeyError:
            raise already_exists("experiment", "experiment.name") from None
        return experiment_to_proto(doc, Level.MANAGE)

    @unary
    async def GetExperiment(self, request: experiment_pb2.GetExperimentRequest, context: grpc.aio.ServicerContext) -> experiment_pb2.Experiment:
        doc, level = await self._require(request.experiment_id, context, Level.READ)
        return experiment_to_proto(doc, level)

    @unary
    async def LookupExperiment(self, request: experiment_pb2.LookupExperimentRequest, context: grpc.aio.ServicerContext) -> experiment_pb2.Experiment:
        caller = await self.deps.caller(context)
        name = validation.text("name", request.name, low=1, high=validation.MAX_NAME)
        doc = await self.deps.db.run(load_by_name, name)
        level = require(doc, caller, Level.READ)
        return experiment_to_proto(doc, level)  # type: ignore[arg-type]

    @unary
    async def ListExperiments(self, request: experiment_pb2.ListExperimentsRequest, context: grpc.aio.ServicerContext) -> experiment_pb2.ListExperimentsResponse:
        caller = await self.deps.caller(context)
        conditions = [c for c in (readable_query(caller), compile_user_filter(request.filter, FILTER_FIELDS)) if c]
        query = {"$and": conditions} if len(conditions) > 1 else (conditions[0] if conditions else {})
        docs, next_token = await self.deps.list_page(LISTING, request, query, scope="experiments")
        return experiment_pb2.ListExperimentsResponse(
            experiments=[experiment_to_proto(doc, access_level(doc, caller)) for doc in docs],
            next_page_token=next_token,
        )

    @unary
    async def UpdateExperiment(self, request: experiment_pb2.UpdateExperimentRequest, context: grpc.aio.ServicerContext) -> experiment_pb2.Experiment:
        caller = await self.deps.writer(context)
        given = request.experiment
        paths = _mask_paths(request)
        changes: dict[str, Any] = {}
        if "name" in paths:
            changes["name"] = validation.text("experiment.name", given.name, low=1, high=validation.MAX_NAME)
        if "description" in paths:
            changes["description"] = validation.text(
                "experiment.description", given.description, low=0, high=validation.MAX_DESCRIPTION
            )
        if "public" in paths:
            changes["public"] = given.public
        if "grants" in paths:
            changes["grants"] = grants_from_proto("experiment.grants", given.grants)
        for name in RETENTION:
            if name in paths:
                changes[name] = validation.count(f"experiment.{name}", getattr(given, name), RETENTION_LIMITS[name])
        needed = Level.MANAGE if changes.keys() - {"description"} else Level.EDIT
        doc, level = await self._require(given.id, context, needed, "experiment.id")
        if not changes:
            return experiment_to_proto(doc, level)
        changes["update_time"] = now()
        conform(Experiment, changes, partial=True)
        try:
            updated = await self.deps.db.run(
                _collection().find_one_and_update,
                {"_id": doc["_id"]},
                {"$set": changes},
                return_document=ReturnDocument.AFTER,
            )
        except OperationFailure as exc:
            if is_duplicate(exc):
                raise already_exists("experiment", "experiment.name") from None
            raise
        if updated is None:
            raise not_found("experiment")
        if changes.keys() & {"public", "grants"}:
            # In the log after the change, so every watcher re-checks its caller before any later event,
            # on whichever process it is (see WatchDrifts).
            await self.deps.db.run(self.deps.events.append, doc["_id"], EXPERIMENT_ACCESS, {})
        await self.deps.db.run(_audit_update, caller, doc, updated, needed)
        return experiment_to_proto(updated, level)

    @unary
    async def DeleteExperiment(self, request: experiment_pb2.DeleteExperimentRequest, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        caller = await self.deps.writer(context)
        doc, _ = await self._require(request.experiment_id, context, Level.MANAGE)
        await self.deps.db.run(self._delete, doc["_id"])
        before = {"name": doc["name"], "owner": doc["owner"], **audit.sharing(doc)}
        await self.deps.db.run(
            audit.record, caller, "experiment.delete", experiment=doc, before=before, override=audit.admin_override(doc, caller, Level.MANAGE)
        )
        await self.deps.db.run(audit.experiment_deleted, doc["_id"])
        return empty_pb2.Empty()

    def _delete(self, experiment_id: ObjectId) -> None:
        # The experiment goes first so no new drift can be added; then its drifts and its creation-order
        # counter; then the event that ends its watch streams; last its older events are blanked (the log
        # keeps their seqs: readers rely on it having no gaps, see events.py). Audit entries stay, marked.
        _collection().delete_one({"_id": experiment_id})
        drifts = Drift._get_collection()
        drifts.delete_many({"experiment": experiment_id})
        ordinals.forget(drifts, experiment_id)
        delete_alerts_of(experiment_id)  # rules, alert states, the outbox and its claims
        seq = self.deps.events.append(experiment_id, EXPERIMENT_DELETED, {})
        self.deps.events.forget(experiment_id, seq)


def _audit_update(caller: Caller, before: dict[str, Any], after: dict[str, Any], needed: Level) -> None:
    """Sharing changes always leave an entry; other changes only when made with admin rights alone."""
    override = audit.admin_override(before, caller, needed)
    if audit.sharing(before) != audit.sharing(after):
        audit.record(caller, "experiment.sharing", experiment=after, before=audit.sharing(before), after=audit.sharing(after), override=override)
    if audit.retention(before) != audit.retention(after):  # it deletes runs: always recorded
        audit.record(caller, "experiment.retention", experiment=after, before=audit.retention(before), after=audit.retention(after), override=override)
    changed = [name for name in ("name", "description") if before.get(name) != after.get(name)]
    if changed and override:
        audit.record(caller, "experiment.update", experiment=after, before={n: before.get(n) for n in changed},
                     after={n: after.get(n) for n in changed}, override=True)


def _mask_paths(request: experiment_pb2.UpdateExperimentRequest) -> set[str]:
    paths = set(request.update_mask.paths)
    if "*" in paths:
        return set(MASK_PATHS)
    if unknown := paths - set(MASK_PATHS):
        raise invalid("update_mask", f"unknown path {sorted(unknown)[0]!r}; allowed: {', '.join(MASK_PATHS)}")
    if paths:
        return paths
    given = request.experiment  # no mask: every populated field (AIP-134)
    populated = {"name": given.name, "description": given.description, "public": given.public, "grants": len(given.grants),
                 "retention_days": given.retention_days, "retention_runs": given.retention_runs}
    return {path for path, value in populated.items() if value}
