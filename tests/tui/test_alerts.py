"""The alerts screen: an experiment's rules and recent firings, against the real stack (Envoy, TLS, tokens);
and, for a READ-only caller, the plain message instead (the server refuses below EDIT)."""

from __future__ import annotations

import time

from google.protobuf import duration_pb2

from drift_monitoring import Client
from drift_monitoring.v1 import alert_pb2
from tests.tui.conftest import blocking, dashboard, drift, record, screen_text, settings_for, squeeze, unique, until
from tests.tui.test_pilot import open_experiment, rows
from tui import format as fmt
from tui.screens.alerts import NOT_ALLOWED, AlertsScreen
from tui.screens.experiment import ExperimentScreen

C = alert_pb2.AlertCondition


def rule(name: str, condition: alert_pb2.AlertCondition, *, url: str = "https://hooks.example.org/dm", **fields) -> alert_pb2.AlertRule:
    channel = alert_pb2.AlertChannel(webhook=alert_pb2.WebhookChannel(url=url))
    return alert_pb2.AlertRule(display_name=name, condition=condition, channel=channel, **fields)


def test_conditions_and_deliveries_in_words():
    assert fmt.condition(rule("r", C(drift_detected=C.DriftDetected()))) == "latest run drifted"
    assert fmt.condition(rule("r", C(k_of_n=C.KOfN(k=2, n=5, kind=alert_pb2.DRIFT_KIND_DATA)), filter='model = "m"')) == \
        '2 of the last 5 runs drifted (data) where model = "m"'
    rate = C(drift_rate=C.DriftRate(window=duration_pb2.Duration(seconds=3600), threshold=0.5, min_runs=3))
    assert fmt.condition(rule("r", rate)) == "≥ 50% of runs in 1h drifted (≥ 3 runs)"
    assert fmt.condition(rule("r", C(no_run=C.NoRun(period=duration_pb2.Duration(seconds=90))))) == "no run for 90s"
    assert fmt.condition(rule("r", C(feature_detected=C.FeatureDetected(features=["age", "income"])))) == "latest run drifted on age, income"
    slack = alert_pb2.AlertRule(channel=alert_pb2.AlertChannel(slack=alert_pb2.SlackChannel(url="https://hooks.slack.com/…")))
    assert fmt.channel(slack) == "slack hooks.slack.com" and fmt.channel(rule("r", C())) == "webhook hooks.example.org"
    firing = alert_pb2.AlertFiring(delivery_status=alert_pb2.ALERT_DELIVERY_STATUS_FAILED)
    firing.attempts.add(status_code=404)
    assert fmt.delivery(firing) == "failed (404)"
    firing.delivery_status = alert_pb2.ALERT_DELIVERY_STATUS_PENDING
    assert fmt.delivery(firing) == "pending, 1 attempt"


async def firings(client: Client, experiment_id: str, timeout: float = 20.0) -> list[alert_pb2.AlertFiring]:
    """The experiment's firings once there is one (the server evaluates on its own appends, within ~50 ms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await blocking(lambda: list(client.list_alert_firings(experiment_id)))
        if found:
            return found
        await blocking(time.sleep, 0.2)
    raise AssertionError(f"no firing within {timeout}s")


async def test_editors_see_rules_and_recent_firings(tui_settings, client):
    experiment = client.new_experiment(unique("tui-alerts"))
    client.create_alert_rule(experiment.id, rule("drift on credit", C(drift_detected=C.DriftDetected(kind=alert_pb2.DRIFT_KIND_CONCEPT))))
    client.create_alert_rule(experiment.id, rule("three of five", C(k_of_n=C.KOfN(k=3, n=5)), disabled=True, filter='model = "other"'))
    record(client, experiment.id, [drift("credit-model", minute=1, concept=True)])
    fired = await firings(client, experiment.id)
    app = dashboard(tui_settings)
    async with app.run_test(size=(160, 40)) as pilot:
        await open_experiment(pilot, experiment.name)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AlertsScreen) and app.screen.rules is not None, what="alerts listed")
        screen = app.screen
        assert not screen.refused
        shown = rows(screen.query_one("#rules"))
        assert [r[:4] for r in shown] == [
            ["drift on credit", "latest run drifted (concept)", "webhook hooks.example.org", "yes"],
            ["three of five", '3 of the last 5 runs drifted where model = "other"', "webhook hooks.example.org", "no"],
        ]
        assert shown[0][4] == "firing"
        firing_rows = rows(screen.query_one("#firings"))
        assert len(firing_rows) == len(fired) >= 1
        assert firing_rows[-1][:2] == ["drift on credit", "firing"]  # newest first: the first one is last
        assert firing_rows[-1][2] == fmt.stamp(fired[-1].create_time.ToDatetime())
        assert firing_rows[-1][3].startswith(("pending", "failed", "delivered"))
        await pilot.pause()
        text = screen_text(app)
        for expected in ("drift on credit", "latest run drifted (concept)", "Recent firings", "1 firing"):
            assert squeeze(expected) in text, expected
        assert squeeze(NOT_ALLOWED) not in text
        # r reads them again: a rule made meanwhile appears.
        await blocking(client.create_alert_rule, experiment.id, rule("failed runs", C(run_failed=C.RunFailed())))
        await pilot.press("r")
        await until(pilot, lambda: len(screen.rules or ()) == 3, what="the new rule after reload")
        assert rows(screen.query_one("#rules"))[2][:2] == ["failed runs", "latest run failed"]
        await pilot.press("escape")
        assert isinstance(app.screen, ExperimentScreen)


async def test_readers_see_a_plain_message(envoy, ca_pem, issuer, tmp_path, client):
    reader = settings_for(envoy, ca_pem, issuer, tmp_path / "reader", persona="reader")
    with Client(reader) as reader_client:
        reader_id = reader_client.register().id
    experiment = client.new_experiment(unique("tui-alerts-read"), grants=[(reader_id, "read")])
    client.create_alert_rule(experiment.id, rule("secret destination", C(run_failed=C.RunFailed())))
    app = dashboard(reader)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_experiment(pilot, experiment.name)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AlertsScreen) and app.screen.refused, what="the refusal")
        await pilot.pause()
        text = screen_text(app)
        assert squeeze("Alert rules are visible to editors and managers") in text
        assert squeeze("secret destination") not in text and "Recentfirings" not in text
        assert not app._notifications  # a plain message, not an error notification
        await pilot.press("escape")
        assert isinstance(app.screen, ExperimentScreen)
