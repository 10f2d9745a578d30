"""One run, pretty-printed: what it is, its error if it failed, and each result's parameters and features."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from drift_monitoring.v1 import drift_pb2
from tui import format as fmt
from tui.screens.base import DashboardScreen
from tui.widgets.status_bar import StatusBar

TITLES = {"concept_drift": "Concept drift", "data_drift": "Data drift", "result": "Result"}


def overview(drift: drift_pb2.Drift) -> RenderableType:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    start = drift.start_time.ToDatetime() if drift.HasField("start_time") else None
    end = drift.end_time.ToDatetime() if drift.HasField("end_time") else None
    for label, value in (
        ("model", drift.model), ("status", fmt.status(drift)), ("started", fmt.stamp(start)), ("ended", fmt.stamp(end)),
        ("tags", ", ".join(drift.tags) or "-"), ("creator", drift.creator or "-"), ("id", drift.id),
    ):
        table.add_row(label, value)
    return table


def result(drift: drift_pb2.Drift, field: str) -> RenderableType:
    value = getattr(drift, field)
    verdict = Text("DRIFT DETECTED", style="bold red") if value.detected else Text("no drift", style="green")
    parts: list[RenderableType] = [verdict]
    parameters = fmt.plain(value).get("parameters")
    if parameters:
        parts.append(Syntax(fmt.pretty(parameters), "json", theme="ansi_dark", background_color="default", word_wrap=True))
    if value.features:
        features = Table("feature", "test", "statistic ▼", "p-value", "threshold", "drift", expand=False)
        for f in fmt.by_statistic(value.features):
            features.add_row(
                f.feature, f.test, f"{f.statistic:.4g}", f"{f.p_value:.4g}" if f.HasField("p_value") else "-",
                f"{f.threshold:.4g}" if f.HasField("threshold") else "-", Text("yes", style="bold red") if f.detected else "no",
            )
        parts.append(features)
    return Panel(Group(*parts), title=TITLES[field], title_align="left")


class DriftScreen(DashboardScreen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, drift: drift_pb2.Drift) -> None:
        super().__init__()
        self.drift = drift

    def compose(self) -> ComposeResult:
        yield StatusBar()
        with VerticalScroll(id="drift-detail"):
            yield Static(Panel(overview(self.drift), title=f"Run {self.drift.model}", title_align="left"), id="overview")
            if self.drift.status == drift_pb2.DRIFT_STATUS_FAILED:
                error = Text(self.drift.error_message or "(no message)", style="bold red")
                yield Static(Panel(error, title="Error", title_align="left", border_style="red"), id="error")
            if self.drift.status == drift_pb2.DRIFT_STATUS_LOST:
                reason = Text(self.drift.status_reason or "(no reason given)", style="bold magenta")
                yield Static(Panel(reason, title="Lost", title_align="left", border_style="magenta"), id="lost")
            for field in fmt.RESULTS:
                if self.drift.HasField(field):
                    yield Static(result(self.drift, field), classes="result")
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(StatusBar).where = f"run {self.drift.model}"
        self.query_one("#drift-detail").focus()
