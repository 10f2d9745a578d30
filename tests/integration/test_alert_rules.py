"""Alert rules through Envoy (docs/alerts.md): bad input is INVALID_ARGUMENT naming the field and stores
nothing; secrets never come back from Get or List; an experiment's delete takes its rules and outbox along."""

from __future__ import annotations

import pytest
from google.protobuf import duration_pb2, field_mask_pb2

from drift_monitoring.v1 import alert_pb2
from tests.integration.conftest import sample_rule_request
from tests.integration.helpers import Code, RpcError, bad_request_fields

pytestmark = pytest.mark.asyncio(loop_scope="session")
C = alert_pb2.AlertCondition


def _bad(mutate) -> alert_pb2.CreateAlertRuleRequest:  # noqa: ANN001
    request = sample_rule_request("")
    mutate(request.rule)
    return request


BAD = {
    "rule.display_name": lambda r: setattr(r, "display_name", ""),
    "rule.condition": lambda r: r.ClearField("condition"),
    "rule.channel": lambda r: r.ClearField("channel"),
    "rule.channel.webhook.url": lambda r: setattr(r.channel.webhook, "url", "http://example.org/hook"),
    "rule.channel.slack.url": lambda r: r.channel.slack.SetInParent() or setattr(r.channel.slack, "url", "https://user:pw@hooks.example.org/x"),
    "rule.filter": lambda r: setattr(r, "filter", "model = = x"),
    "rule.condition.k_of_n.k": lambda r: r.condition.k_of_n.CopyFrom(C.KOfN(k=5, n=3)),
    "rule.condition.drift_rate.threshold": lambda r: r.condition.drift_rate.CopyFrom(C.DriftRate(window=duration_pb2.Duration(seconds=60), threshold=1.5)),
    "rule.condition.no_run.period": lambda r: r.condition.no_run.CopyFrom(C.NoRun()),
    "rule.condition.feature_detected.features": lambda r: r.condition.feature_detected.CopyFrom(C.FeatureDetected()),
    "rule.repeat_interval": lambda r: r.repeat_interval.CopyFrom(duration_pb2.Duration(seconds=30 * 86400)),
    "rule.group_by[0]": lambda r: r.group_by.append("parameters.x"),
    "rule.channel.email": lambda r: r.channel.email.to.append("ops@example.org"),  # no SMTP on this server
}


@pytest.mark.parametrize("field", sorted(BAD))
async def test_bad_rules_are_refused_naming_the_field_and_store_nothing(people, scenario, db, field):
    manager = people["manager"]
    request = _bad(BAD[field])
    request.experiment_id = scenario.private.id
    before = db.alert_rules.count_documents({})
    with pytest.raises(RpcError) as caught:
        await manager.alerts.CreateAlertRule(request)
    assert caught.value.code() == Code.INVALID_ARGUMENT, caught.value.details()
    assert bad_request_fields(caught.value) == [field], caught.value.details()
    assert db.alert_rules.count_documents({}) == before


async def test_literal_private_addresses_are_refused_at_create(people, scenario):
    for url in ("https://127.0.0.1/x", "https://169.254.169.254/latest/meta-data", "https://[::1]/x", "https://10.0.0.1/x"):
        with pytest.raises(RpcError) as caught:
            await people["manager"].alerts.CreateAlertRule(sample_rule_request(scenario.private.id, url))
        assert caught.value.code() == Code.INVALID_ARGUMENT and bad_request_fields(caught.value) == ["rule.channel.webhook.url"], url


async def test_secrets_are_shown_once_and_never_read_back(people, scenario, db):
    manager = people["manager"]
    created = await manager.alerts.CreateAlertRule(sample_rule_request(scenario.private.id))
    assert created.channel.webhook.secret.startswith("whsec_")
    got = await manager.alerts.GetAlertRule(alert_pb2.GetAlertRuleRequest(experiment_id=scenario.private.id, rule_id=created.id))
    listed = await people["editor"].alerts.ListAlertRules(alert_pb2.ListAlertRulesRequest(experiment_id=scenario.private.id))
    for rule in (got, *listed.rules):
        assert rule.channel.webhook.secret == ""
        assert created.channel.webhook.secret not in str(rule)
    rotated = await manager.alerts.RotateAlertRuleSecret(alert_pb2.RotateAlertRuleSecretRequest(
        experiment_id=scenario.private.id, rule_id=created.id, overlap=duration_pb2.Duration(seconds=60)))
    assert rotated.secret.startswith("whsec_") and rotated.secret != created.channel.webhook.secret
    stored = db.alert_rules.find_one({"_id": __import__("bson").ObjectId(created.id)})
    assert [s["secret"] for s in stored["secrets"]] == [rotated.secret, created.channel.webhook.secret]
    # A Slack URL carries its own secret in the path: only scheme and host come back.
    request = sample_rule_request(scenario.private.id)
    request.rule.channel.slack.url = "https://hooks.example.org/services/T000/B000/XXXXSECRET"
    slack = await manager.alerts.CreateAlertRule(request)
    assert "XXXXSECRET" not in str(slack) and slack.channel.slack.url == "https://hooks.example.org/…"


async def test_update_changes_only_the_masked_fields(people, scenario):
    manager = people["manager"]
    rule_id = scenario.private_rule_id
    change = alert_pb2.AlertRule(id=rule_id, experiment_id=scenario.private.id, display_name="renamed", filter='model = "x"')
    updated = await manager.alerts.UpdateAlertRule(alert_pb2.UpdateAlertRuleRequest(rule=change, update_mask=field_mask_pb2.FieldMask(paths=["display_name"])))
    assert updated.display_name == "renamed" and updated.filter == "" and updated.channel.webhook.url == "https://alerts.invalid/hook"
    with pytest.raises(RpcError) as caught:
        await manager.alerts.UpdateAlertRule(alert_pb2.UpdateAlertRuleRequest(rule=change, update_mask=field_mask_pb2.FieldMask(paths=["secrets"])))
    assert bad_request_fields(caught.value) == ["update_mask"]


async def test_deleting_the_experiment_deletes_its_rules_states_and_outbox(people, scenario, db):
    manager = people["manager"]
    experiment = __import__("bson").ObjectId(scenario.private.id)
    rule = db.alert_rules.find_one({"experiment": experiment})
    assert rule is not None
    # Whatever the evaluator and the outbox keep for the experiment, as they store it.
    db.alert_states.insert_one({"_id": f"{rule['_id']}|*", "rule": rule["_id"], "experiment": experiment, "state": "FIRING", "episode": 1,
                                "update_time": rule["create_time"]})
    db.alert_notifications.insert_one({"_id": "msg_test_delete", "rule": rule["_id"], "experiment": experiment, "kind": "FIRING", "payload": {},
                                       "status": "PENDING", "next_attempt_time": rule["create_time"], "give_up_time": rule["create_time"],
                                       "create_time": rule["create_time"]})
    db.alert_claims.insert_one({"_id": "msg_test_delete#0", "experiment": experiment, "owner": "test", "time": rule["create_time"]})
    await manager.delete_experiment(scenario.private.id)
    for name in ("alert_rules", "alert_states", "alert_notifications", "alert_claims"):
        assert db[name].count_documents({"experiment": experiment}) == 0, name
