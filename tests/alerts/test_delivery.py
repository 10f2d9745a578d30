"""Delivery (docs/alerts.md): retries with backoff honouring Retry-After, a bounded give-up recorded as
FAILED, secret rotation with overlap (both signatures, each verified independently), Slack and email
(a real aiosmtpd with STARTTLS and AUTH), SSRF refused at connect time, TestAlertRule, and the documented
receiver run as it is printed in docs/alerts.md."""

from __future__ import annotations

import email
import json
import re
import subprocess
import sys
import time
import uuid

import pytest
from bson import ObjectId
from google.protobuf import duration_pb2
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from drift_monitoring.v1 import alert_pb2, drift_pb2
from server.alerts import net
from stack import ROOT, free_port
from tests.alerts.receivers import records
from tests.alerts.test_conditions import types, verified

C = alert_pb2.AlertCondition
FAILED = drift_pb2.DRIFT_STATUS_FAILED


def failing_rule(api, url: str, **fields):  # noqa: ANN001, ANN201
    experiment = api.experiment()
    rule = api.rule(experiment, url, condition=C(run_failed=C.RunFailed()), **fields)
    return experiment, rule


def stored(stack, rule_id: str, until, timeout: float = 20) -> list[dict]:  # noqa: ANN001
    db = stack.db()
    deadline = time.monotonic() + timeout
    while True:
        docs = list(db.alert_notifications.find({"rule": ObjectId(rule_id)}))
        if until(docs):
            return docs
        assert time.monotonic() < deadline, docs
        time.sleep(0.1)


def test_5xx_is_retried_under_the_same_id_until_delivered(api, receiver, stack):
    path = f"status/503/2/{uuid.uuid4().hex[:8]}"
    experiment, rule = failing_rule(api, receiver.url(path))
    api.drift(experiment, model="m", status=FAILED)
    found = receiver.wait(path, lambda f: any(r["status"] == 200 for r in f))
    assert [r["status"] for r in found] == [503, 503, 200]
    assert len({r["headers"]["webhook-id"] for r in found}) == 1  # one delivery id across its attempts
    assert found[2]["time"] - found[1]["time"] >= 1.5 and found[1]["time"] - found[0]["time"] >= 0.7  # backoff 1 s, then 2 s (±20 %)
    verified(found, rule.channel.webhook.secret)
    doc = stored(stack, rule.id, lambda d: d and d[0]["status"] == "DELIVERED")[0]
    assert [a["status_code"] for a in doc["attempts"]] == [503, 503, 200]


def test_retry_after_is_honoured(api, receiver):
    path = f"retry-after/3/{uuid.uuid4().hex[:8]}"
    experiment, _ = failing_rule(api, receiver.url(path))
    api.drift(experiment, model="m", status=FAILED)
    found = receiver.wait(path, lambda f: len(f) == 2)
    assert [r["status"] for r in found] == [429, 200]
    assert found[1]["time"] - found[0]["time"] >= 2.9


def test_a_permanent_refusal_fails_at_once_and_a_dead_receiver_is_given_up_on(api, receiver, stack):
    gone = f"status/410/100/{uuid.uuid4().hex[:8]}"
    experiment, rule = failing_rule(api, receiver.url(gone))
    api.drift(experiment, model="m", status=FAILED)
    doc = stored(stack, rule.id, lambda d: d and d[0]["status"] == "FAILED")[0]
    assert [a["status_code"] for a in doc["attempts"]] == [410]
    down = f"status/503/1000/{uuid.uuid4().hex[:8]}"  # this stack gives up after 8 s
    experiment, rule = failing_rule(api, receiver.url(down))
    api.drift(experiment, model="m", status=FAILED)
    doc = stored(stack, rule.id, lambda d: d and d[0]["status"] == "FAILED", timeout=30)[0]
    assert 3 <= len(doc["attempts"]) <= 5 and {a["status_code"] for a in doc["attempts"]} == {503}
    assert (doc["attempts"][-1]["time"] - doc["create_time"]).total_seconds() <= 8 + 1.5  # scheduled within 8 s; the outbox polls each second
    firings = api.alerts("ListAlertFirings", alert_pb2.ListAlertFiringsRequest(experiment_id=experiment, rule_id=rule.id)).firings
    assert firings[0].delivery_status == alert_pb2.ALERT_DELIVERY_STATUS_FAILED and len(firings[0].attempts) == len(doc["attempts"])


def test_a_rotated_secret_overlaps_both_signatures_verify(api, receiver):
    path = f"ok/{uuid.uuid4().hex[:8]}"
    experiment, rule = failing_rule(api, receiver.url(path))
    old = rule.channel.webhook.secret
    new = api.alerts("RotateAlertRuleSecret", alert_pb2.RotateAlertRuleSecretRequest(
        experiment_id=experiment, rule_id=rule.id, overlap=duration_pb2.Duration(seconds=600))).secret
    api.drift(experiment, model="m", status=FAILED)
    found = receiver.wait(path, lambda f: len(f) == 1)
    assert len(found[0]["headers"]["webhook-signature"].split()) == 2
    assert verified(found, old) == verified(found, new)  # a receiver on either secret accepts it
    with pytest.raises(WebhookVerificationError):
        verified(found, "whsec_" + "A" * 43 + "=")
    # With no overlap the old secret stops signing at once.
    path2 = f"ok/{uuid.uuid4().hex[:8]}"
    experiment2, rule2 = failing_rule(api, receiver.url(path2))
    newest = api.alerts("RotateAlertRuleSecret", alert_pb2.RotateAlertRuleSecretRequest(
        experiment_id=experiment2, rule_id=rule2.id, overlap=duration_pb2.Duration(seconds=0))).secret
    api.drift(experiment2, model="m", status=FAILED)
    found = receiver.wait(path2, lambda f: len(f) == 1)
    verified(found, newest)
    with pytest.raises(WebhookVerificationError):
        verified(found, rule2.channel.webhook.secret)


def test_slack_compatible_payload(api, receiver):
    path = f"ok/slack-{uuid.uuid4().hex[:8]}"
    experiment = api.experiment()
    channel = alert_pb2.AlertChannel(slack=alert_pb2.SlackChannel(url=receiver.url(path)))
    api.rule(experiment, channel=channel, display_name="nightly job", condition=C(run_failed=C.RunFailed()))
    api.drift(experiment, model="m", status=FAILED)
    found = receiver.wait(path, lambda f: len(f) == 1)
    body = json.loads(found[0]["body"])
    assert list(body) == ["text"] and body["text"].startswith(":rotating_light: *nightly job* FIRING: run ")


def test_email_over_starttls_with_authentication(api, mailbox):
    port, log = mailbox
    experiment = api.experiment()
    channel = alert_pb2.AlertChannel(email=alert_pb2.EmailChannel(to=["ops@example.org"]))
    rule = api.rule(experiment, channel=channel, display_name="mail rule", condition=C(run_failed=C.RunFailed()))
    api.drift(experiment, model="m", status=FAILED, error_message="disk full")
    deadline = time.monotonic() + 20
    while not (log.exists() and rule.id in log.read_text()):
        assert time.monotonic() < deadline, "no mail arrived"
        time.sleep(0.1)
    mail = next(m for m in records(log) if rule.id in json.dumps(m))
    assert mail["tls"] and mail["authenticated"] and mail["to"] == ["ops@example.org"] and mail["from"] == "drift-monitor@example.org"
    message = email.message_from_string(mail["data"])
    assert " ".join(message["Subject"].split()).startswith("mail rule FIRING: run") and "disk full" in message.get_payload()


def test_test_alert_rule_sends_a_sample_now(api, receiver):
    path = f"ok/{uuid.uuid4().hex[:8]}"
    experiment, rule = failing_rule(api, receiver.url(path))
    answer = api.alerts("TestAlertRule", alert_pb2.TestAlertRuleRequest(experiment_id=experiment, rule_id=rule.id))
    assert answer.delivered and answer.status_code == 200
    found = receiver.requests(path)
    assert types(found) == ["alert.test"] and found[0]["headers"]["webhook-id"] == answer.delivery_id
    verified(found, rule.channel.webhook.secret)
    broken = api.rule(experiment, receiver.url(f"status/500/9/{uuid.uuid4().hex[:8]}"), condition=C(run_failed=C.RunFailed()))
    answer = api.alerts("TestAlertRule", alert_pb2.TestAlertRuleRequest(experiment_id=experiment, rule_id=broken.id))
    assert not answer.delivered and answer.status_code == 500


def test_loopback_private_and_metadata_targets_are_refused_after_resolution(receiver, ca_pem):
    """At connect time, on the resolved addresses: `localhost` is a name, so only resolution reveals it."""
    url = receiver.url(f"ok/ssrf-{uuid.uuid4().hex[:8]}")
    for target in (url, url.replace("localhost", "127.0.0.1"), url.replace("localhost", "[::ffff:127.0.0.1]")):
        with pytest.raises(net.Refused):
            net.post(target, b"{}", {}, timeout=2, allowed=())
    for address in ("169.254.169.254", "10.1.2.3", "192.168.0.1", "100.64.0.1", "fd00:ec2::254", "::1", "0.0.0.0"):
        assert net.refused_address(address, ()), address
    assert not net.refused_address("93.184.215.14", ())
    assert receiver.requests("ok/ssrf") == []
    answer = net.post(url, b"{}", {}, timeout=2, allowed=("127.0.0.0/8", "::1/128"), ca_bundle=str(ca_pem))  # the allow-list lets it through
    assert answer.status == 200 and len(receiver.requests("ok/ssrf")) == 1


def test_the_documented_receiver_verifies_a_server_made_notification(api, stack, certs):
    block = re.search(r"```python\n(# receiver\.py.*?)```", (ROOT / "docs" / "alerts.md").read_text(), re.S)
    assert block, "docs/alerts.md has no receiver block"
    script = stack.directory / "receiver.py"
    script.write_text(block.group(1))
    experiment = api.experiment()
    port = free_port()
    rule = api.rule(experiment, f"https://localhost:{port}/hook", condition=C(run_failed=C.RunFailed()))
    process = subprocess.Popen([sys.executable, str(script), rule.channel.webhook.secret, str(port), *certs], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        api.drift(experiment, model="m", status=FAILED)
        line = process.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("verified msg_") and " alert.firing " in line, line
    finally:
        process.kill()
