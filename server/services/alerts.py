"""AlertService: an experiment's alert rules (MANAGE changes them, EDIT reads them) and their firings."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import grpc
from bson import ObjectId
from google.protobuf import empty_pb2, json_format
from pymongo import DESCENDING

from drift_monitoring.v1 import alert_pb2, alert_pb2_grpc
from server import audit
from server.alerts import rules, signing
from server.alerts.outbox import Outbox
from server.db import now
from server.errors import ApiError, invalid, not_found
from server.models import AlertGroupState, AlertNotification, AlertRule, conform
from server.pagetokens import PageTokenError, decode_page_token, encode_page_token
from server.permissions import Level, require
from server.services.common import Deps, object_id, unary
from server.services.experiments import load as load_experiment

DEFAULT_OVERLAP_MS = 24 * rules.HOUR
MAX_OVERLAP_MS = 7 * rules.DAY
STATUS = {"PENDING": alert_pb2.ALERT_DELIVERY_STATUS_PENDING, "DELIVERED": alert_pb2.ALERT_DELIVERY_STATUS_DELIVERED,
          "FAILED": alert_pb2.ALERT_DELIVERY_STATUS_FAILED}
SEVERITY = ("INACTIVE", "PENDING", "FIRING")


def _rules() -> Any:
    return AlertRule._get_collection()


def rule_state(rule_id: ObjectId) -> str:
    found = {doc["state"] for doc in AlertGroupState._get_collection().find({"rule": rule_id}, {"state": 1})}
    return max(found, key=SEVERITY.index, default="INACTIVE")


def _find_rule(experiment: ObjectId, rule_id: ObjectId) -> dict[str, Any] | None:
    doc = _rules().find_one({"_id": rule_id})
    return doc if doc is not None and doc["experiment"] == experiment else None


def _page(request: Any, default: int, high: int) -> int:
    if request.page_size < 0:
        raise invalid("page_size", "must not be negative")
    return min(request.page_size or default, high)


def _audited(doc: dict[str, Any], paths: tuple[str, ...] | list[str] = rules.MASK_PATHS) -> dict[str, Any]:
    """A rule's fields for the audit trail, as callers see them (no secret, Slack URLs redacted)."""
    shown = json_format.MessageToDict(rules.rule_to_proto(doc), preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
    # A webhook's secret field is always empty here: leave it out rather than record "secret": "".
    shown["channel"] = {kind: {k: v for k, v in fields.items() if k != "secret"} for kind, fields in shown.get("channel", {}).items()}
    return {path: shown.get(path) for path in paths}


def firing_to_proto(doc: dict[str, Any]) -> alert_pb2.AlertFiring:
    firing = alert_pb2.AlertFiring(
        id=doc["_id"], rule_id=str(doc["rule"]), experiment_id=str(doc["experiment"]), kind=doc["kind"], labels=doc.get("labels") or {},
        summary=doc.get("summary", ""), delivery_status=STATUS[doc["status"]],
    )
    firing.create_time.FromDatetime(doc["create_time"])
    if doc.get("deliver_time"):
        firing.deliver_time.FromDatetime(doc["deliver_time"])
    for attempt in doc.get("attempts") or ():
        item = firing.attempts.add(status_code=attempt.get("status_code", 0), detail=attempt.get("detail", ""))
        item.time.FromDatetime(attempt["time"])
    return firing


def delete_for_experiment(experiment: ObjectId) -> None:
    """Blocking: an experiment's rules, alert states, notifications (queued ones are not sent) and claims."""
    from server.models import EXPERIMENT_DEPENDENTS  # noqa: PLC0415

    for document in EXPERIMENT_DEPENDENTS:
        document._get_collection().delete_many({"experiment": experiment})


class AlertService(alert_pb2_grpc.AlertServiceServicer):
    def __init__(self, deps: Deps, outbox: Outbox) -> None:
        self.deps = deps
        self.outbox = outbox

    async def _experiment(self, experiment_id: str, context: grpc.aio.ServicerContext, level: Level, field: str = "experiment_id") -> ObjectId:
        caller = await (self.deps.writer(context) if level is Level.MANAGE else self.deps.caller(context))
        doc = await self.deps.db.run(load_experiment, object_id(field, experiment_id))
        require(doc, caller, level)
        return doc["_id"]  # type: ignore[index]

    async def _rule(self, experiment_id: str, rule_id: str, context: grpc.aio.ServicerContext, level: Level, prefix: str = "") -> dict[str, Any]:
        experiment = await self._experiment(experiment_id, context, level, f"{prefix}experiment_id")
        rid = object_id(f"{prefix}rule_id" if not prefix else f"{prefix}id", rule_id)
        doc = await self.deps.db.run(_find_rule, experiment, rid)
        if doc is None:
            raise not_found("alert rule")
        return doc

    async def _audit(self, context: grpc.aio.ServicerContext, action: str, rule: dict[str, Any], *,
                     before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
        """Record a change of a rule (after it is made); an admin acting without MANAGE of their own is marked."""
        caller = await self.deps.caller(context)

        def write() -> None:
            experiment = load_experiment(rule["experiment"]) or {"_id": rule["experiment"]}
            audit.record(caller, action, experiment=experiment, target=str(rule["_id"]), before=before, after=after,
                         override=audit.admin_override(experiment, caller, Level.MANAGE))

        await self.deps.db.run(write)

    @unary
    async def CreateAlertRule(self, request: alert_pb2.CreateAlertRuleRequest, context: grpc.aio.ServicerContext) -> alert_pb2.AlertRule:
        experiment = await self._experiment(request.experiment_id, context, Level.MANAGE)
        caller = await self.deps.caller(context)
        if request.rule.experiment_id not in ("", request.experiment_id):
            raise invalid("rule.experiment_id", "must be empty or equal to experiment_id")
        fields = rules.fields_from_proto("rule", request.rule, rules.MASK_PATHS, self.deps.settings)
        moment = now()
        doc = {"_id": ObjectId(), "experiment": experiment, **fields, "secrets": [], "creator": caller.user_id or "", "create_time": moment, "update_time": moment}
        secret = ""
        if fields["channel"]["type"] == "webhook":
            secret = signing.new_secret()
            doc["secrets"] = [{"secret": secret, "expire_time": None}]
        conform(AlertRule, doc)
        await self.deps.db.run(self._insert, doc)
        await self._audit(context, "alert_rule.create", doc, after=_audited(doc))
        return rules.rule_to_proto(doc, secret=secret)

    def _insert(self, doc: dict[str, Any]) -> None:
        # A count, then an insert: two creates racing may pass the limit by one each; the limit guards size, not money.
        if _rules().count_documents({"experiment": doc["experiment"]}) >= rules.MAX_RULES_PER_EXPERIMENT:
            raise ApiError(grpc.StatusCode.RESOURCE_EXHAUSTED, "TOO_MANY_ALERT_RULES",
                           f"an experiment has at most {rules.MAX_RULES_PER_EXPERIMENT} alert rules; delete one first")
        _rules().insert_one(doc)

    @unary
    async def GetAlertRule(self, request: alert_pb2.GetAlertRuleRequest, context: grpc.aio.ServicerContext) -> alert_pb2.AlertRule:
        doc = await self._rule(request.experiment_id, request.rule_id, context, Level.EDIT)
        return rules.rule_to_proto(doc, await self.deps.db.run(rule_state, doc["_id"]))

    @unary
    async def ListAlertRules(self, request: alert_pb2.ListAlertRulesRequest, context: grpc.aio.ServicerContext) -> alert_pb2.ListAlertRulesResponse:
        experiment = await self._experiment(request.experiment_id, context, Level.EDIT)
        size = _page(request, 50, rules.MAX_RULES_PER_EXPERIMENT)
        scope = {"scope": f"alertRules/{experiment}"}
        query: dict[str, Any] = {"experiment": experiment}
        if request.page_token:
            try:
                query["_id"] = {"$gt": ObjectId(decode_page_token(self.deps.settings.token_secret, request.page_token, expect=scope)["after"])}
            except (PageTokenError, KeyError, TypeError, ValueError) as exc:
                raise invalid("page_token", str(exc) if isinstance(exc, PageTokenError) else "is not a token of this list") from None

        def fetch() -> list[tuple[dict[str, Any], str]]:
            docs = list(_rules().find(query).sort("_id", 1).limit(size + 1))
            return [(doc, rule_state(doc["_id"])) for doc in docs]

        found = await self.deps.db.run(fetch)
        token = encode_page_token(self.deps.settings.token_secret, {**scope, "after": str(found[size - 1][0]["_id"])}) if len(found) > size else ""
        return alert_pb2.ListAlertRulesResponse(rules=[rules.rule_to_proto(doc, state) for doc, state in found[:size]], next_page_token=token)

    @unary
    async def UpdateAlertRule(self, request: alert_pb2.UpdateAlertRuleRequest, context: grpc.aio.ServicerContext) -> alert_pb2.AlertRule:
        # Who asks comes first: a caller without a token or without MANAGE learns nothing from validation.
        doc = await self._rule(request.rule.experiment_id, request.rule.id, context, Level.MANAGE, prefix="rule.")
        paths = list(dict.fromkeys(request.update_mask.paths))
        if "*" in paths:
            paths = list(rules.MASK_PATHS)
        if not paths:
            raise invalid("update_mask", f"name the fields to change: {', '.join(rules.MASK_PATHS)}")
        if unknown := set(paths) - set(rules.MASK_PATHS):
            raise invalid("update_mask", f"unknown path {sorted(unknown)[0]!r}; allowed: {', '.join(rules.MASK_PATHS)}")
        changes = rules.fields_from_proto("rule", request.rule, paths, self.deps.settings)
        secret = ""
        if "channel" in changes:
            if changes["channel"]["type"] != "webhook":
                changes["secrets"] = []
            elif not doc.get("secrets"):  # became a webhook: its secret is shown in this answer, once
                secret = signing.new_secret()
                changes["secrets"] = [{"secret": secret, "expire_time": None}]
        changes["update_time"] = now()
        updated = {**doc, **changes}
        conform(AlertRule, updated)
        await self.deps.db.run(_rules().update_one, {"_id": doc["_id"]}, {"$set": changes})
        before, after = _audited(doc, paths), _audited(updated, paths)
        if before != after:
            await self._audit(context, "alert_rule.update", doc, before=before, after=after)
        return rules.rule_to_proto(updated, await self.deps.db.run(rule_state, doc["_id"]), secret=secret)

    @unary
    async def DeleteAlertRule(self, request: alert_pb2.DeleteAlertRuleRequest, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        doc = await self._rule(request.experiment_id, request.rule_id, context, Level.MANAGE)

        def delete() -> None:
            _rules().delete_one({"_id": doc["_id"]})
            AlertGroupState._get_collection().delete_many({"rule": doc["_id"]})
            AlertNotification._get_collection().delete_many({"rule": doc["_id"]})

        await self.deps.db.run(delete)
        await self._audit(context, "alert_rule.delete", doc, before=_audited(doc))
        return empty_pb2.Empty()

    @unary
    async def TestAlertRule(self, request: alert_pb2.TestAlertRuleRequest, context: grpc.aio.ServicerContext) -> alert_pb2.TestAlertRuleResponse:
        doc = await self._rule(request.experiment_id, request.rule_id, context, Level.MANAGE)
        experiment = await self.deps.db.run(load_experiment, doc["experiment"]) or {}
        moment = now()
        message_id = f"msg_test_{uuid.uuid4().hex}"
        payload = {
            "type": "alert.test", "timestamp": moment.isoformat().replace("+00:00", "Z"),
            "data": {"delivery_id": message_id, "rule_id": str(doc["_id"]), "rule_name": doc["display_name"], "experiment_id": str(doc["experiment"]),
                     "experiment_name": experiment.get("name", ""), "condition": doc["condition"]["type"], "labels": {},
                     "summary": "a test notification: the channel works", "runs": [], "episode": 0, "active_since": None},
        }
        outcome = await self.outbox.send_now(doc["channel"], rules.current_secrets(doc, moment), message_id, payload)
        return alert_pb2.TestAlertRuleResponse(delivered=outcome.delivered, status_code=outcome.status_code, detail=outcome.detail, delivery_id=message_id)

    @unary
    async def RotateAlertRuleSecret(self, request: alert_pb2.RotateAlertRuleSecretRequest, context: grpc.aio.ServicerContext) -> alert_pb2.RotateAlertRuleSecretResponse:
        overlap = rules.duration_ms("overlap", request.overlap, 0, MAX_OVERLAP_MS) if request.HasField("overlap") else DEFAULT_OVERLAP_MS
        doc = await self._rule(request.experiment_id, request.rule_id, context, Level.MANAGE)
        if doc["channel"]["type"] != "webhook":
            raise ApiError(grpc.StatusCode.FAILED_PRECONDITION, "NOT_A_WEBHOOK", "only webhook rules have a signing secret")
        moment = now()
        until = moment + timedelta(milliseconds=overlap)
        secret = signing.new_secret()
        kept = [{"secret": s["secret"], "expire_time": until if s.get("expire_time") is None else min(s["expire_time"], until)}
                for s in rules.current_secrets_docs(doc, moment)]
        secrets = [{"secret": secret, "expire_time": None}, *kept][:3]
        conform(AlertRule, {"secrets": secrets, "update_time": moment}, partial=True)
        await self.deps.db.run(_rules().update_one, {"_id": doc["_id"]}, {"$set": {"secrets": secrets, "update_time": moment}})
        await self._audit(context, "alert_rule.rotate_secret", doc, after={"previous_secret_expire_time": until})
        response = alert_pb2.RotateAlertRuleSecretResponse(secret=secret)
        response.previous_secret_expire_time.FromDatetime(until)
        return response

    @unary
    async def ListAlertFirings(self, request: alert_pb2.ListAlertFiringsRequest, context: grpc.aio.ServicerContext) -> alert_pb2.ListAlertFiringsResponse:
        experiment = await self._experiment(request.experiment_id, context, Level.EDIT)
        size = _page(request, 50, 500)
        query: dict[str, Any] = {"experiment": experiment}
        if request.rule_id:
            query["rule"] = object_id("rule_id", request.rule_id)
        scope = {"scope": f"alertFirings/{experiment}/{request.rule_id}"}
        if request.page_token:
            try:
                after = decode_page_token(self.deps.settings.token_secret, request.page_token, expect=scope)
                query["$or"] = [{"create_time": {"$lt": after["time"]}}, {"create_time": after["time"], "_id": {"$lt": after["id"]}}]
            except (PageTokenError, KeyError, TypeError) as exc:
                raise invalid("page_token", str(exc) if isinstance(exc, PageTokenError) else "is not a token of this list") from None
        index = "rule" if "rule" in query else "experiment"
        docs = await self.deps.db.run(
            lambda: list(AlertNotification._get_collection().find(query).sort([(index, DESCENDING), ("create_time", DESCENDING), ("_id", DESCENDING)]).limit(size + 1))
        )
        token = ""
        if len(docs) > size:
            last = docs[size - 1]
            token = encode_page_token(self.deps.settings.token_secret, {**scope, "time": last["create_time"], "id": last["_id"]})
        return alert_pb2.ListAlertFiringsResponse(firings=[firing_to_proto(doc) for doc in docs[:size]], next_page_token=token)
