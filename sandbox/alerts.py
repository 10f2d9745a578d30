"""The sandbox alert rules: the example job's experiment notifies the local receivers (sandbox/receivers.py).

    DRIFT_MONITOR_URL=... DRIFT_MONITOR_TOKEN=... python -m sandbox.alerts --webhook-url http://127.0.0.1:8970/sandbox \
        [--email sandbox@example.org]

Idempotent: rules are looked up by name on the experiment first, and the experiment (examples/live_drift.py's
live-credit-example) is made when missing, as the example job would. `make run` runs it after seeding.
"""

from __future__ import annotations

import argparse
import sys

from drift_monitoring import Client, NotFoundError
from drift_monitoring.v1 import alert_pb2

EXPERIMENT = "live-credit-example"  # examples/live_drift.py's
DESCRIPTION = "generated credit applications, tested every few seconds (examples/live_drift.py)"
WEBHOOK_RULE = "sandbox: drift detected (webhook)"
EMAIL_RULE = "sandbox: drift detected (email)"


def ensure_rules(client: Client, webhook_url: str, email_to: list[str] | None = None, *,
                 experiment: str = EXPERIMENT) -> dict[str, alert_pb2.AlertRule]:
    """The sandbox rules on `experiment` by name, made when missing: drift detected (any kind) -> a webhook to
    webhook_url and, when email_to is given, a mail to them. A webhook rule made now carries its signing
    secret (the only answer that does); one found does not."""
    try:
        found = client.find_experiment(experiment)
    except NotFoundError:
        found = client.new_experiment(experiment, DESCRIPTION)
    existing = {rule.display_name: rule for rule in client.list_alert_rules(found.id)}
    wanted = {WEBHOOK_RULE: alert_pb2.AlertChannel(webhook=alert_pb2.WebhookChannel(url=webhook_url))}
    if email_to:
        wanted[EMAIL_RULE] = alert_pb2.AlertChannel(email=alert_pb2.EmailChannel(to=email_to))
    condition = alert_pb2.AlertCondition(drift_detected=alert_pb2.AlertCondition.DriftDetected(kind=alert_pb2.DRIFT_KIND_ANY))
    rules = {}
    for name, channel in wanted.items():
        rules[name] = existing.get(name) or client.create_alert_rule(
            found.id, alert_pb2.AlertRule(display_name=name, condition=condition, channel=channel))
    return rules


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webhook-url", required=True, help="where the webhook rule posts (the local receiver)")
    parser.add_argument("--email", nargs="*", default=[], help="addresses of an email rule (the local mail catcher)")
    parser.add_argument("--experiment", default=EXPERIMENT)
    args = parser.parse_args()
    with Client() as client:
        client.register()
        rules = ensure_rules(client, args.webhook_url, args.email, experiment=args.experiment)
    for name, rule in rules.items():
        secret = rule.channel.webhook.secret
        print(f"alert rule {name!r} on {args.experiment} ({rule.id})" + (f"; webhook signing secret {secret}" if secret else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
