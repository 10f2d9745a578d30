"""The Alerts tab in Chromium against the session's real stack through Envoy (docs/alerts.md): a manager
makes, tests, disables, renames and deletes rules; an editor-level read of firings; a READ-only reader
sees no tab. The session's server has no allow-list for loopback, so the webhook goes to
`https://hooks.invalid/...`: it is accepted (a name, not a literal address) and never answers."""

from __future__ import annotations

import uuid

import pytest

from drift_monitoring.v1 import drift_pb2, experiment_pb2
from tests.web.test_e2e import client_for, sign_in, wait_until

pytestmark = pytest.mark.timeout(240)


def rule_rows(page) -> list[str]:
    table = page.css('table[data-testid="alert-rules"] tbody tr')
    return [table.nth(i).text() for i in range(table.count())]


def firing_rows(page) -> list[str]:
    table = page.css('table[data-testid="alert-firings"] tbody tr')
    return [table.nth(i).text() for i in range(table.count())]


def test_manager_makes_tests_disables_and_deletes_rules_and_a_reader_sees_no_alerts(browser, web_envoy, ca_pem, issuer, tmp_path):
    suffix = uuid.uuid4().hex[:8]
    name = f"web-alerts-{suffix}"
    hook = f"https://hooks.invalid/drift/{suffix}"
    manager = sign_in(browser, web_envoy, "manager")
    reader = sign_in(browser, web_envoy, "reader")
    reader_id = reader.eval("document.querySelector('[data-testid=my-user-id]').textContent")
    with client_for(web_envoy, ca_pem, issuer, "manager", tmp_path) as api:
        experiment = api.new_experiment(name, "alerts from the page")
        api.update_experiment(experiment_pb2.Experiment(id=experiment.id, grants=[
            experiment_pb2.Grant(entity=reader_id, level=experiment_pb2.ACCESS_LEVEL_READ)]), ["grants"])
    page = manager
    page.goto(f"{web_envoy.url}/experiments/{experiment.id}")
    page.role("heading", name).wait()
    page.role("link", "Alerts").click()
    wait_until(lambda: page.url.endswith(f"/experiments/{experiment.id}/alerts"), "the tab in the URL")
    page.css("text=No alert rules yet.").wait()

    # The server's INVALID_ARGUMENT, naming the field, is shown next to the form: a literal loopback address.
    page.css("details.create summary:has-text('New alert rule')").click()
    form = 'form[aria-label="new alert rule"]'
    page.label("Rule name").fill("nightly failed")
    page.css(f"{form} select[name=condition]").select("failed")
    page.label("Webhook URL").fill("https://127.0.0.1/hook")
    page.role("button", "Create rule").click()
    page.css(f'{form} [role="alert"]:has-text("invalid argument")').wait()
    assert "url" in page.css(f'{form} [role="alert"]').text()
    assert page.css('table[data-testid="alert-rules"]').count() == 0

    # A webhook rule: listed with its condition in words; its signing secret shown this once.
    page.label("Webhook URL").fill(hook)
    page.role("button", "Create rule").click()
    page.css('[data-testid="secret"]').wait()
    secret_text = page.css('[data-testid="secret"]').text()
    assert "whsec_" in secret_text and "will not be shown again" in secret_text
    assert page.css(f'{form} [role="alert"]').count() == 0
    wait_until(lambda: len(rule_rows(page)) == 1, "the new rule in the table")
    row = rule_rows(page)[0]
    assert row.startswith("nightly failed") and "latest run failed" in row and "webhook" in row and hook in row and "enabled" in row and "whsec_" not in row

    # Email needs the operator's SMTP server, which this stack has none of: the server says so, naming the field.
    page.label("Rule name").fill("drifting often")
    page.css(f"{form} select[name=condition]").select("kofn")
    page.css(f"{form} input[name=k]").fill("2")
    page.css(f"{form} input[name=n]").fill("5")
    page.css(f"{form} select[name=channel]").select("email")
    page.label("Email addresses (comma-separated)").fill("team@example.org, oncall@example.org")
    page.role("button", "Create rule").click()
    page.css(f'{form} [role="alert"]:has-text("rule.channel.email")').wait()
    assert len(rule_rows(page)) == 1

    # A second webhook rule, k of n with a filter: its own secret replaces the first one's notice.
    page.css(f"{form} select[name=channel]").select("webhook")
    page.label("Webhook URL").fill(hook + "/often")
    page.label("Only runs matching (optional filter)").fill('model = "churn"')
    page.role("button", "Create rule").click()
    try:
        wait_until(lambda: len(rule_rows(page)) == 2, "the second rule in the table")
    except AssertionError:
        raise AssertionError(page.css(form).text()) from None
    often = next(r for r in rule_rows(page) if r.startswith("drifting often"))
    assert "2 of the last 5 runs drifted" in often and 'model = "churn"' in often and f"{hook}/often" in often
    second_secret = page.css('[data-testid="secret"]').text()
    assert "drifting often" in second_secret and "whsec_" in second_secret
    assert second_secret.split("whsec_")[1][:20] != secret_text.split("whsec_")[1][:20]
    assert "nightly failed" not in second_secret
    page.screenshot("alerts")
    assert page.accessibility_violations() == []

    # Send test: the server's answer (hooks.invalid never resolves) is shown.
    page.role("button", "send a test of nightly failed").click()
    page.css('[data-testid="test-result"]').wait()
    result = page.css('[data-testid="test-result"]').text()
    assert "nightly failed" in result and "not delivered" in result and "msg_" in result

    # A failed run makes the rule fire; the firing is listed with its (undeliverable, so pending) delivery.
    with client_for(web_envoy, ca_pem, issuer, "manager", tmp_path) as api:
        api.create_drift(experiment.id, drift_pb2.Drift(model="m", status=drift_pb2.DRIFT_STATUS_FAILED), uuid.uuid4().hex)

    def fired() -> bool:
        page.role("button", "Refresh").click()
        return any("nightly failed" in r and "firing" in r for r in firing_rows(page))
    wait_until(fired, "the firing in the table", timeout=30)
    delivery = page.css('table[data-testid="alert-firings"] tbody tr:has-text("nightly failed") td.delivery').text()
    assert delivery.startswith(("pending", "failed")) and "attempt" in delivery, delivery

    # Disable (stored by the server), rename, then delete (with a confirmation).
    page.label("enabled nightly failed").click()  # the box shows the stored flag, once the server said so
    wait_until(lambda: any("nightly failed" in r and "disabled" in r for r in rule_rows(page)), "the rule disabled")
    with client_for(web_envoy, ca_pem, issuer, "manager", tmp_path) as api:
        stored = {r.display_name: r for r in api.list_alert_rules(experiment.id)}
    assert stored["nightly failed"].disabled and not stored["drifting often"].disabled
    page.css('summary[aria-label="rename drifting often"]').click()
    page.label("new name for drifting often").fill("drifting a lot")
    page.role("button", "Save name").click()
    wait_until(lambda: any(r.startswith("drifting a lot") for r in rule_rows(page)), "the renamed rule")
    page.role("button", "delete nightly failed").click()
    wait_until(lambda: len(rule_rows(page)) == 1, "one rule left")
    assert "nightly failed" not in page.css('table[data-testid="alert-rules"]').text()
    assert any(line.startswith('dialog: Delete alert rule "nightly failed"') for line in page.console())
    with client_for(web_envoy, ca_pem, issuer, "manager", tmp_path) as api:
        assert [r.display_name for r in api.list_alert_rules(experiment.id)] == ["drifting a lot"]

    # Back on the tab later: the secret is not shown again.
    page.goto(f"{web_envoy.url}/experiments/{experiment.id}/alerts")
    wait_until(lambda: len(rule_rows(page)) == 1, "the rules after a reload")
    assert page.css('[data-testid="secret"]').count() == 0 and "whsec_" not in page.css("main").text()

    # READ only: no Alerts tab, and a deep link says why instead of listing rules.
    reader.goto(f"{web_envoy.url}/experiments/{experiment.id}")
    reader.role("heading", name).wait()
    reader.css('nav[aria-label="experiment views"] >> text=Runs').wait()
    assert reader.role("link", "Alerts").count() == 0
    reader.goto(f"{web_envoy.url}/experiments/{experiment.id}/alerts")
    reader.css("text=Only editors and managers of this experiment see its alerts.").wait()
    assert reader.css('table[data-testid="alert-rules"]').count() == 0
    for p in (reader, manager):
        assert not [line for line in p.console() if line.startswith("pageerror")], p.console()
        p.close()
