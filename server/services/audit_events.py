"""AuditService: reading the audit trail (server/audit.py writes it; nothing in the API can)."""

from __future__ import annotations

from typing import Any

import grpc
from bson import ObjectId

from drift_monitoring.v1 import audit_pb2, audit_pb2_grpc
from server.errors import permission_denied
from server.filtering import FieldSpec
from server.listing import ListSpec, Ordering
from server.models import AuditEvent
from server.permissions import Level, require
from server.services.common import Deps, compile_user_filter, object_id, unary
from server.services.experiments import load as load_experiment

FILTER_FIELDS = {
    "action": FieldSpec("action", "string"),
    "actor_id": FieldSpec("actor_id", "string"),
    "target": FieldSpec("target", "string"),
    "time": FieldSpec("time", "time"),
}
LISTING = ListSpec(AuditEvent._get_collection, ("time",), Ordering("time", descending=True), 100, ObjectId)


def event_to_proto(doc: dict[str, Any]) -> audit_pb2.AuditEvent:
    message = audit_pb2.AuditEvent(
        id=str(doc["_id"]), actor_id=doc.get("actor_id", ""), actor_name=doc.get("actor_name", ""), action=doc["action"],
        experiment_id=str(doc["experiment"]) if doc.get("experiment") else "", experiment_name=doc.get("experiment_name", ""),
        target=doc.get("target", ""), admin_override=bool(doc.get("admin_override")),
        experiment_deleted=bool(doc.get("experiment_deleted")),
    )
    message.time.FromDatetime(doc["time"])
    for name in ("before", "after"):
        if doc.get(name) is not None:
            getattr(message, name).update(doc[name])
    return message


class AuditService(audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @unary
    async def ListAuditEvents(self, request: audit_pb2.ListAuditEventsRequest, context: grpc.aio.ServicerContext) -> audit_pb2.ListAuditEventsResponse:
        caller = await self.deps.caller(context)
        if request.experiment_id:
            experiment = object_id("experiment_id", request.experiment_id)
            if not caller.admin:  # admins also read the entries of experiments deleted since
                require(await self.deps.db.run(load_experiment, experiment), caller, Level.MANAGE)
            scope: dict[str, Any] = {"experiment": experiment}
        elif caller.admin:
            scope = {}
        else:
            raise permission_denied("admin (or give experiment_id of an experiment you manage)")
        conditions = [c for c in (scope, compile_user_filter(request.filter, FILTER_FIELDS)) if c]
        query = {"$and": conditions} if len(conditions) > 1 else (conditions[0] if conditions else {})
        docs, next_token = await self.deps.list_page(LISTING, request, query, scope=f"audit:{request.experiment_id}")
        return audit_pb2.ListAuditEventsResponse(audit_events=[event_to_proto(doc) for doc in docs], next_page_token=next_token)
