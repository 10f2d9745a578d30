"""One experiment's alert rules and their recent firings (docs/alerts.md). Reading them needs EDIT on the
experiment: below that the server refuses, and the screen says so in words."""

from __future__ import annotations

import datetime as dt

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Label

from drift_monitoring.errors import NotFoundError, PermissionDeniedError
from drift_monitoring.v1 import alert_pb2, experiment_pb2
from tui import format as fmt
from tui.screens.base import DashboardScreen
from tui.widgets.status_bar import StatusBar

NOT_ALLOWED = "Alert rules are visible to editors and managers of this experiment."
RULE_COLUMNS = (("name", "Rule", 24), ("condition", "Condition", 40), ("channel", "Channel", 24), ("enabled", "Enabled", 7), ("state", "State", 8))
FIRING_COLUMNS = (("rule", "Rule", 24), ("kind", "State", 8), ("time", "Time", 19), ("delivery", "Delivery", 20), ("summary", "Summary", 50))


class AlertsScreen(DashboardScreen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back"), Binding("r", "reload", "Reload")]

    def __init__(self, experiment: experiment_pb2.Experiment) -> None:
        super().__init__()
        self.experiment = experiment
        self.rules: list[alert_pb2.AlertRule] | None = None  # None until the first answer
        self.firings: list[alert_pb2.AlertFiring] = []
        self.refused = False  # the server said PERMISSION_DENIED or NOT_FOUND

    def compose(self) -> ComposeResult:
        yield StatusBar()
        with Horizontal(id="experiment-bar"):
            yield Label(self.experiment.name, id="experiment-name")
            yield Label("alerts: loading…", id="info")
        yield Label("", id="alerts-message")
        yield Label("Rules", classes="table-title")
        yield self._table("rules", RULE_COLUMNS)
        yield Label("Recent firings", classes="table-title")
        yield self._table("firings", FIRING_COLUMNS)
        yield Footer()

    @staticmethod
    def _table(id: str, columns: tuple[tuple[str, str, int], ...]) -> DataTable[str]:  # noqa: A002
        table: DataTable[str] = DataTable(id=id, cursor_type="row", zebra_stripes=True)
        for key, label, width in columns:
            table.add_column(label, key=key, width=width)
        return table

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(StatusBar).where = f"alerts of {self.experiment.name}"
        self.query_one("#alerts-message").display = False
        self.query_one("#rules", DataTable).focus()
        self.load()

    @work(thread=True, exclusive=True, group="alerts", exit_on_error=False)
    def load(self) -> None:
        backend = self.dashboard.backend
        try:
            rules = backend.alert_rules(self.experiment.id)
            firings = backend.alert_firings(self.experiment.id)
        except (PermissionDeniedError, NotFoundError):
            self.app.call_from_thread(self.show_refused)
            return
        except Exception as exc:  # noqa: BLE001
            self.report(exc, "Cannot list alerts")
            return
        self.app.call_from_thread(self.show, rules, firings)

    def show(self, rules: list[alert_pb2.AlertRule], firings: list[alert_pb2.AlertFiring]) -> None:
        self.rules, self.firings, self.refused = rules, firings, False
        names = {rule.id: rule.display_name for rule in rules}
        table = self.query_one("#rules", DataTable)
        table.clear()
        for rule in rules:
            table.add_row(rule.display_name, fmt.condition(rule), fmt.channel(rule), "no" if rule.disabled else "yes",
                          fmt.alert_state(rule.state), key=rule.id)
        table = self.query_one("#firings", DataTable)
        table.clear()
        for firing in firings:
            moment = firing.create_time.ToDatetime(dt.timezone.utc) if firing.HasField("create_time") else None
            table.add_row(names.get(firing.rule_id, firing.rule_id), firing.kind.lower(), fmt.stamp(moment), fmt.delivery(firing),
                          firing.summary, key=firing.id)
        self._showing(tables=True)
        firing_now = sum(rule.state == alert_pb2.ALERT_STATE_FIRING for rule in rules)
        parts = [f"{len(rules)} rules", f"{firing_now} firing", f"{len(firings)} recent notifications"]
        self.query_one("#info", Label).update("  ·  ".join(parts))

    def show_refused(self) -> None:
        self.rules, self.firings, self.refused = None, [], True
        self.query_one("#alerts-message", Label).update(NOT_ALLOWED)
        self._showing(tables=False)
        self.query_one("#info", Label).update("alerts: not visible with your access")

    def _showing(self, *, tables: bool) -> None:
        self.query_one("#alerts-message").display = not tables
        for widget in self.query(".table-title, #rules, #firings"):
            widget.display = tables

    def action_reload(self) -> None:
        self.load()
