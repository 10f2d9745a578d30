"""`drift-monitor`: the command line for Drift Monitoring. Settings come from the same environment
variables as the library (DRIFT_MONITOR_URL, DRIFT_MONITOR_TOKEN or DRIFT_MONITOR_MYTOKEN, ...).
Human-readable output by default; --json prints one JSON document (or one per line for watch)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from google.protobuf import duration_pb2, json_format
from google.protobuf.message import Message

from drift_monitoring.client import LEVELS, Client
from drift_monitoring.errors import DriftMonitorError, OutOfRangeError
from drift_monitoring.export import FORMATS, export
from drift_monitoring.offline import sync
from drift_monitoring.v1 import alert_pb2, drift_pb2, experiment_pb2

C = alert_pb2.AlertCondition


def _dict(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def _status(value: int) -> str:
    return drift_pb2.DriftStatus.Name(value).removeprefix("DRIFT_STATUS_")


def _emit(args: argparse.Namespace, messages: Iterable[Message], line: Any) -> None:
    if args.json:
        print(json.dumps([_dict(m) for m in messages], indent=2))
    else:
        for message in messages:
            print(line(message))


def _experiment_line(e: experiment_pb2.Experiment) -> str:
    access = experiment_pb2.AccessLevel.Name(e.caller_access).removeprefix("ACCESS_LEVEL_").lower()
    return f"{e.name:<32} {'public' if e.public else 'private':<8} {access:<8} {e.id}"


def _drift_line(d: drift_pb2.Drift) -> str:
    verdicts = " ".join(f"{n}={'yes' if getattr(d, n).detected else 'no'}" for n in ("concept_drift", "data_drift", "result") if d.HasField(n))
    return f"{d.create_time.ToJsonString():<25} {d.model:<24} {_status(d.status):<10} {verdicts}"


def _seconds(text: str) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=int(text))


def condition(text: str) -> alert_pb2.AlertCondition:
    """drift | feature:a,b | k-of-n:K/N | rate:THRESHOLD/WINDOW_SECONDS | failed | lost | no-run:SECONDS."""
    name, _, value = text.partition(":")
    try:
        if name == "drift":
            return C(drift_detected=C.DriftDetected())
        if name == "feature":
            return C(feature_detected=C.FeatureDetected(features=value.split(",")))
        if name == "k-of-n":
            k, n = value.split("/")
            return C(k_of_n=C.KOfN(k=int(k), n=int(n)))
        if name == "rate":
            threshold, window = value.split("/")
            return C(drift_rate=C.DriftRate(threshold=float(threshold), window=_seconds(window)))
        if name == "failed":
            return C(run_failed=C.RunFailed())
        if name == "lost":
            return C(run_lost=C.RunLost())
        if name == "no-run":
            return C(no_run=C.NoRun(period=_seconds(value)))
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{text!r}: use drift, feature:A,B, k-of-n:K/N, rate:THRESHOLD/SECONDS, failed, lost or no-run:SECONDS")


def _rule_line(r: alert_pb2.AlertRule) -> str:
    state = alert_pb2.AlertState.Name(r.state).removeprefix("ALERT_STATE_").lower()
    channel = r.channel.WhichOneof("kind") or "-"
    target = {"webhook": r.channel.webhook.url, "slack": r.channel.slack.url, "email": ", ".join(r.channel.email.to)}.get(channel, "")
    return f"{r.id}  {r.display_name:<24} {r.condition.WhichOneof('kind') or '-':<16} {state:<8} {channel} {target}"


def _firing_line(f: alert_pb2.AlertFiring) -> str:
    status = alert_pb2.AlertDeliveryStatus.Name(f.delivery_status).removeprefix("ALERT_DELIVERY_STATUS_").lower()
    return f"{f.create_time.ToJsonString():<25} {f.kind:<8} {status:<9} {len(f.attempts)} attempt(s)  {f.id}  {f.summary}"


def _alerts(args: argparse.Namespace, client: Client) -> int:
    experiment = client.find_experiment(args.experiment)
    if args.action == "list":
        _emit(args, list(client.list_alert_rules(experiment.id)), _rule_line)
    elif args.action == "create":
        if args.webhook:
            channel = alert_pb2.AlertChannel(webhook=alert_pb2.WebhookChannel(url=args.webhook))
        elif args.slack:
            channel = alert_pb2.AlertChannel(slack=alert_pb2.SlackChannel(url=args.slack))
        else:
            channel = alert_pb2.AlertChannel(email=alert_pb2.EmailChannel(to=args.email))
        rule = alert_pb2.AlertRule(display_name=args.name, condition=args.condition, channel=channel, filter=args.filter, group_by=args.group_by)
        if args.repeat:
            rule.repeat_interval.CopyFrom(_seconds(args.repeat))
        if args.pending:
            rule.pending_duration.CopyFrom(_seconds(args.pending))
        made = client.create_alert_rule(experiment.id, rule)
        _emit(args, [made], lambda r: _rule_line(r) + (f"\nsigning secret (shown once): {r.channel.webhook.secret}" if r.channel.webhook.secret else ""))
    elif args.action == "delete":
        client.delete_alert_rule(experiment.id, args.rule)
        print(json.dumps({"deleted": args.rule}) if args.json else f"deleted alert rule {args.rule}")
    elif args.action == "test":
        answer = client.test_alert_rule(experiment.id, args.rule)
        _emit(args, [answer], lambda a: f"{'delivered' if a.delivered else 'NOT delivered'} ({a.status_code} {a.detail.strip()[:80]}) id {a.delivery_id}")
        return 0 if answer.delivered else 1
    elif args.action == "firings":
        firings = []
        for firing in client.list_alert_firings(experiment.id, args.rule):
            firings.append(firing)
            if len(firings) >= args.limit:
                break
        _emit(args, firings, _firing_line)
    return 0


def run(args: argparse.Namespace, client: Client) -> int:
    command = args.command
    if command == "register":
        _emit(args, [client.register()], lambda u: f"registered {u.name or u.subject} ({u.id})")
    elif command == "token":
        _emit(args, [client.me()], lambda u: f"{u.name} <{u.email}> id {u.id}\nissuer {u.issuer}, subject {u.subject}"
              f"\nentitlements: {', '.join(u.entitlements) or '-'}{' (admin)' if u.admin else ''}")
    elif command == "sync":
        sent, left = sync(client)
        print(json.dumps({"sent": sent, "left": left}) if args.json else f"sent {sent} run(s), {left} left")
    elif command == "experiments":
        if args.action == "list":
            _emit(args, list(client.list_experiments(args.filter)), _experiment_line)
        elif args.action == "create":
            _emit(args, [client.new_experiment(args.name, args.description, public=args.public)], _experiment_line)
        else:
            experiment = client.find_experiment(args.name)
            if args.action == "show":
                _emit(args, [experiment], _experiment_line)
            elif args.action == "grant":
                grants = [g for g in experiment.grants if g.entity != args.entity]
                grants.append(experiment_pb2.Grant(entity=args.entity, level=LEVELS[args.level]))
                updated = experiment_pb2.Experiment(id=experiment.id, grants=grants)
                _emit(args, [client.update_experiment(updated, ["grants"])], _experiment_line)
            elif args.action == "delete":
                client.delete_experiment(experiment.id)
                print(json.dumps({"deleted": experiment.id}) if args.json else f"deleted {experiment.name}")
    elif command == "drifts":
        experiment = client.find_experiment(args.experiment)
        drifts = []
        for drift in client.list_drifts(experiment.id, args.filter, args.order_by):
            drifts.append(drift)
            if len(drifts) >= args.limit:
                break
        _emit(args, drifts, _drift_line)
    elif command == "watch":
        _watch(args, client, client.find_experiment(args.experiment).id)
    elif command == "migrate":
        return _migrate(args, client)
    elif command == "export":
        experiment = client.find_experiment(args.experiment)
        runs, size = export(client, experiment.id, Path(args.output), args.format, args.filter, per_feature=args.per_feature)
        print(json.dumps({"runs": runs, "bytes": size, "file": args.output}) if args.json else f"exported {runs} run(s), {size} bytes to {args.output}")
    elif command == "alerts":
        return _alerts(args, client)
    return 0


def _watch(args: argparse.Namespace, client: Client, experiment_id: str) -> None:
    """Print changes until --count; after an outage longer than the server's event log reaches back
    (OUT_OF_RANGE) say that changes were missed and go on from now, as the dashboard and the page do."""
    shown = 0
    while True:
        try:
            for event in client.watch_drifts(experiment_id):
                if event.type == drift_pb2.DRIFT_EVENT_TYPE_HEARTBEAT:
                    continue
                kind = drift_pb2.DriftEventType.Name(event.type).removeprefix("DRIFT_EVENT_TYPE_")
                print(json.dumps(_dict(event)) if args.json else f"{kind:<8} {_drift_line(event.drift)}", flush=True)
                shown += 1
                if args.count and shown >= args.count:
                    return
            return
        except OutOfRangeError:
            print("drift-monitor: away longer than the server keeps changes, so some were missed "
                  "(`drift-monitor drifts` lists them); watching from now", file=sys.stderr, flush=True)


def _migrate(args: argparse.Namespace, client: Client) -> int:
    from drift_monitoring.migrate import Migrator, open_source, zone_named  # noqa: PLC0415 - needs the migrate extra

    for source in open_source(args.source, args.database):
        report = Migrator(client, source, zone=zone_named(args.timezone), dry_run=args.dry_run, batch=args.batch).run()
        if args.report:
            with open(args.report, "w", encoding="utf-8") as out:
                json.dump(report.as_dict(), out, indent=2)
        print(json.dumps(report.as_dict(), indent=2) if args.json else report.summary())
    return 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="drift-monitor", description=__doc__)
    main.add_argument("--json", action="store_true", help="machine-readable output")
    commands = main.add_subparsers(dest="command", required=True)
    commands.add_parser("register", help="register yourself (accepts the terms of use)")
    commands.add_parser("token", help="show who you are signed in as")
    commands.add_parser("sync", help="send runs kept locally while the server was unreachable")
    experiments = commands.add_parser("experiments", help="list, create, show, share or delete experiments")
    actions = experiments.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list")
    listing.add_argument("--filter", default="", help='e.g. \'name = "churn*"\'')
    create = actions.add_parser("create")
    create.add_argument("name")
    create.add_argument("--description", default="")
    create.add_argument("--public", action="store_true")
    for action in ("show", "delete"):
        actions.add_parser(action).add_argument("name")
    grant = actions.add_parser("grant", help="give a user id or entitlement a level (read, edit, manage)")
    grant.add_argument("name")
    grant.add_argument("entity")
    grant.add_argument("level", choices=sorted(LEVELS))
    drifts = commands.add_parser("drifts", help="list the runs of an experiment")
    drifts.add_argument("experiment")
    drifts.add_argument("--filter", default="", help="e.g. 'status = FAILED AND create_time > 2026-01-01'")
    drifts.add_argument("--order-by", default="")
    drifts.add_argument("--limit", type=int, default=50)
    watch = commands.add_parser("watch", help="print runs as they start, change and finish")
    watch.add_argument("experiment")
    watch.add_argument("--count", type=int, default=0, help="stop after this many changes")
    alerts = commands.add_parser("alerts", help="an experiment's alert rules and their recent firings (docs/alerts.md)")
    alert_actions = alerts.add_subparsers(dest="action", required=True)
    alert_actions.add_parser("list", help="the rules and whether each is firing").add_argument("experiment")
    create_rule = alert_actions.add_parser("create", help="a new rule (needs MANAGE); prints a webhook's signing secret once")
    create_rule.add_argument("experiment")
    create_rule.add_argument("--name", required=True)
    create_rule.add_argument("--condition", required=True, type=condition,
                             help="drift | feature:A,B | k-of-n:K/N | rate:THRESHOLD/SECONDS | failed | lost | no-run:SECONDS")
    target = create_rule.add_mutually_exclusive_group(required=True)
    target.add_argument("--webhook", metavar="URL", help="a Standard Webhooks receiver (signed)")
    target.add_argument("--slack", metavar="URL", help="a Slack-compatible incoming webhook")
    target.add_argument("--email", metavar="ADDRESS", nargs="+")
    create_rule.add_argument("--filter", default="", help="narrow the runs, in the ListDrifts filter language")
    create_rule.add_argument("--group-by", action="append", default=[], choices=["model"], help="one alert per model")
    create_rule.add_argument("--repeat", type=int, default=0, metavar="SECONDS", help="notify again while firing (default 4 h)")
    create_rule.add_argument("--pending", type=int, default=0, metavar="SECONDS", help="hold this long before firing")
    for action, text in (("delete", "delete a rule"), ("test", "send a sample notification through a rule's channel now")):
        command = alert_actions.add_parser(action, help=text)
        command.add_argument("experiment")
        command.add_argument("rule", help="the rule id (alerts list shows it)")
    firings = alert_actions.add_parser("firings", help="recent firings, repeats and resolutions with their delivery")
    firings.add_argument("experiment")
    firings.add_argument("--rule", default="", help="one rule's only")
    firings.add_argument("--limit", type=int, default=20)
    migrate = commands.add_parser("migrate", help="import an original Drift Watch database (admins; needs the migrate extra)")
    migrate.add_argument("--from", dest="source", required=True, metavar="MONGODB_URI", help="the original's MongoDB, e.g. mongodb://host:27017/drifts-data")
    migrate.add_argument("--database", default="", help="database name when the URI names none (default drifts-data)")
    migrate.add_argument("--timezone", default="UTC", help="zone the original server's naive times are in (default UTC)")
    migrate.add_argument("--dry-run", action="store_true", help="validate and count what would be imported; write nothing")
    migrate.add_argument("--batch", type=int, default=500, help="records per import call (at most 1000)")
    migrate.add_argument("--report", default="", help="also write the summary as JSON to this file")
    exporting = commands.add_parser("export", help="write an experiment's runs to a CSV, JSON Lines or Parquet file")
    exporting.add_argument("experiment")
    exporting.add_argument("--filter", default="", help="as for drifts, e.g. 'status = COMPLETED'")
    exporting.add_argument("--format", choices=sorted(FORMATS), default="csv")
    exporting.add_argument("--per-feature", action="store_true", help="CSV: one row per feature result instead of one per run")
    exporting.add_argument("-o", "--output", required=True, help="the file to write (replaced once the export is complete)")
    tui = commands.add_parser("tui", help="the live terminal dashboard (needs the tui extra: pip install 'drift-monitor[tui]')")
    tui.add_argument("--experiment", default="", help="open this experiment at start")
    return main


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "tui":  # imported only here: the dashboard needs Textual, the rest of the CLI does not
        try:
            import textual  # noqa: F401  (checked here, so a missing extra is one clear line)
            from tui.__main__ import main as dashboard
        except ImportError as exc:
            print(f"drift-monitor tui: {exc}; install it with: pip install 'drift-monitor[tui]'", file=sys.stderr)
            return 1
        return dashboard(["--experiment", args.experiment] if args.experiment else [])
    try:
        with Client() as client:
            return run(args, client)
    except DriftMonitorError as exc:
        print(f"drift-monitor: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
