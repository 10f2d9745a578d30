"""The audit trail: sharing changes, deletes, imports and admin overrides are recorded with who, when,
before and after; readable by MANAGE and admins only; kept after what they describe is gone; expired
only by DRIFT_MONITOR_AUDIT_RETENTION_DAYS."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId
from google.protobuf import json_format

from drift_monitoring.v1 import audit_pb2, experiment_pb2
from tests.integration.helpers import EDIT, MANAGE, Code, expect_error, unique

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _plain(struct) -> dict:
    return json_format.MessageToDict(struct)


async def test_sharing_changes_and_deletes_are_recorded_with_before_and_after(people, scenario):
    manager, admin = people["manager"], people["admin"]
    experiment = scenario.private
    await manager.update_experiment(experiment.id, ["public"], public=True)
    await manager.update_experiment(experiment.id, ["public"], public=True)  # no change: no entry
    await manager.update_experiment(experiment.id, ["description"], description="notes")  # not sharing: no entry
    grants = [*experiment.grants, experiment_pb2.Grant(entity="urn:example:auditors", level=EDIT)]
    await manager.update_experiment(experiment.id, ["grants"], grants=grants)
    await manager.delete_drift(experiment.id, scenario.private_drift_id)

    events = list((await manager.audit_events(experiment.id)).audit_events)
    # newest first; the scenario's setup made an alert rule
    assert [e.action for e in events] == ["drift.delete", "experiment.sharing", "experiment.sharing", "alert_rule.create"]
    deleted, granted, published, _ = events
    assert published.actor_id == manager.id and published.actor_name == manager.persona.display_name
    assert _plain(published.before)["public"] is False and _plain(published.after)["public"] is True
    assert {"entity": "urn:example:auditors", "level": 2.0} in _plain(granted.after)["grants"]
    assert {"entity": "urn:example:auditors", "level": 2.0} not in _plain(granted.before)["grants"]
    assert deleted.target == scenario.private_drift_id and _plain(deleted.before)["model"] == "private-m0"
    assert all(e.experiment_name == experiment.name and not e.admin_override for e in events)
    assert abs(published.time.ToDatetime(tzinfo=UTC) - datetime.now(UTC)) < timedelta(minutes=1)

    # The experiment goes; its entries stay, for admins, with its name.
    await manager.delete_experiment(experiment.id)
    await expect_error(Code.NOT_FOUND, manager.audit_events(experiment.id))
    kept = list((await admin.audit_events(experiment.id)).audit_events)
    assert kept[0].action == "experiment.delete" and kept[0].experiment_name == experiment.name
    assert _plain(kept[0].before)["name"] == experiment.name and not kept[0].HasField("after")
    assert [e.id for e in kept[1:]] == [e.id for e in events]


async def test_an_admin_acting_without_own_rights_is_marked(people, scenario):
    admin, manager = people["admin"], people["manager"]
    await admin.update_experiment(scenario.private.id, ["description"], description="admin was here")
    entry, setup = (await manager.audit_events(scenario.private.id)).audit_events
    assert setup.action == "alert_rule.create"  # the scenario's rule
    assert (entry.action, entry.admin_override, entry.actor_id) == ("experiment.update", True, admin.id)
    assert _plain(entry.before) == {"description": "secret plans"} and _plain(entry.after) == {"description": "admin was here"}


async def test_rule_changes_are_recorded_without_their_secrets(people, scenario):
    from drift_monitoring.v1 import alert_pb2
    from tests.integration.conftest import sample_rule_request

    manager, admin = people["manager"], people["admin"]
    rule = await manager.alerts.CreateAlertRule(sample_rule_request(scenario.private.id, "https://alerts.invalid/audited"))
    renamed = alert_pb2.AlertRule(id=rule.id, experiment_id=scenario.private.id, display_name="renamed", disabled=True)
    await manager.alerts.UpdateAlertRule(alert_pb2.UpdateAlertRuleRequest(rule=renamed, update_mask={"paths": ["display_name", "disabled"]}))
    await manager.alerts.UpdateAlertRule(alert_pb2.UpdateAlertRuleRequest(rule=renamed, update_mask={"paths": ["display_name"]}))  # no change
    rotated = await manager.alerts.RotateAlertRuleSecret(alert_pb2.RotateAlertRuleSecretRequest(experiment_id=scenario.private.id, rule_id=rule.id))
    await admin.alerts.DeleteAlertRule(alert_pb2.DeleteAlertRuleRequest(experiment_id=scenario.private.id, rule_id=rule.id))

    events = [e for e in (await manager.audit_events(scenario.private.id)).audit_events if e.target == rule.id]
    assert [e.action for e in events] == ["alert_rule.delete", "alert_rule.rotate_secret", "alert_rule.update", "alert_rule.create"]
    deleted, rotation, update, created = events
    assert _plain(created.after)["channel"] == {"webhook": {"url": "https://alerts.invalid/audited"}}
    assert _plain(created.after)["display_name"] == "drift" and "before" not in _plain(created)
    assert _plain(update.before) == {"display_name": "drift", "disabled": False}
    assert _plain(update.after) == {"display_name": "renamed", "disabled": True}
    assert "previous_secret_expire_time" in _plain(rotation.after)
    assert _plain(deleted.before)["display_name"] == "renamed" and deleted.actor_id == admin.id and deleted.admin_override
    for event in events:  # neither the first secret nor the rotated one is ever written down
        text = str(_plain(event))
        assert rule.channel.webhook.secret not in text and rotated.secret not in text


async def test_only_managers_and_admins_read_it(people, scenario):
    await people["manager"].update_experiment(scenario.private.id, ["public"], public=False)  # unchanged: no entry
    for persona, code in (("editor", Code.PERMISSION_DENIED), ("reader", Code.PERMISSION_DENIED),
                          ("outsider", Code.NOT_FOUND), ("anonymous", Code.NOT_FOUND)):
        error = await expect_error(code, people[persona].audit_events(scenario.private.id))
        assert scenario.private.name not in (error.details() or "")
    await expect_error(Code.PERMISSION_DENIED, people["manager"].audit_events())  # everything: admins only
    assert (await people["admin"].audit_events(page_size=1)).audit_events


async def test_filter_and_paging(people, scenario):
    manager = people["manager"]
    for index in range(3):
        await manager.update_experiment(scenario.private.id, ["public"], public=index % 2 == 0)
    await manager.delete_drift(scenario.private.id, scenario.private_drift_id)
    seen, token = [], ""
    while True:
        page = await manager.audit_events(scenario.private.id, page_size=2, page_token=token, filter='action = "experiment.sharing"', order_by="time")
        seen += list(page.audit_events)
        if not (token := page.next_page_token):
            break
    assert [_plain(e.after)["public"] for e in seen] == [True, False, True]
    await expect_error(Code.INVALID_ARGUMENT, manager.audit_events(scenario.private.id, filter="who = 1"), mentions="filter")


async def test_the_api_cannot_write_it():
    """AuditService has one method and it lists; no request message of any service carries an AuditEvent."""
    from drift_monitoring.v1 import drift_pb2, imports_pb2, user_pb2

    service = audit_pb2.DESCRIPTOR.services_by_name["AuditService"]
    assert [m.name for m in service.methods] == ["ListAuditEvents"]
    for module in (audit_pb2, drift_pb2, experiment_pb2, imports_pb2, user_pb2):
        for each in module.DESCRIPTOR.services_by_name.values():
            for method in each.methods:
                assert all(f.message_type is None or f.message_type.name != "AuditEvent" for f in method.input_type.fields), method.full_name


async def test_retention_expires_old_entries_in_every_process(start_server, db):
    """Two processes sweep the same database; entries past the retention go, recent ones and drifts stay."""
    old, recent = datetime.now(UTC) - timedelta(days=40), datetime.now(UTC) - timedelta(days=5)
    marker = unique("retention")
    entries = [{"_id": ObjectId(), "time": moment, "actor_id": "u", "actor_name": "", "action": marker, "experiment": None,
                "experiment_name": "", "target": str(index), "before": None, "after": None, "admin_override": False}
               for index, moment in enumerate([old] * 1500 + [recent] * 3)]
    db.audit_events.insert_many(entries)
    drifts_before = db.drifts.count_documents({})
    for _ in range(2):
        start_server(DRIFT_MONITOR_AUDIT_RETENTION_DAYS="30", DRIFT_MONITOR_SWEEP_SECONDS="0.2")
    deadline = time.monotonic() + 60
    while db.audit_events.count_documents({"action": marker}) > 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert sorted(e["target"] for e in db.audit_events.find({"action": marker})) == ["1500", "1501", "1502"]
    assert db.drifts.count_documents({}) == drifts_before
