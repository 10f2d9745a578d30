"""The first screen: every experiment you can see, with incremental search and create."""

from __future__ import annotations

from textual import on, work
from textual.worker import get_current_worker
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Input

from drift_monitoring.v1 import experiment_pb2
from tui import format as fmt
from tui.backend import Summary
from tui.screens.base import DashboardScreen
from tui.widgets.status_bar import StatusBar

# Fixed widths: summaries fill in later without the columns jumping; together they fit 80 columns.
COLUMNS = (("name", "Name", 22), ("visibility", "Visibility", 10), ("access", "Access", 6), ("runs", "Runs", 4), ("last", "Last run", 16), ("drift", "Drift %", 7))


class ExperimentsScreen(DashboardScreen):
    BINDINGS = [
        Binding("slash", "search", "Search"),
        Binding("n", "create", "New experiment"),
        Binding("r", "reload", "Reload"),
        Binding("escape", "clear_search", "Clear", show=False),
    ]

    def __init__(self, open_first: str = "") -> None:
        super().__init__()
        self.open_first = open_first
        self.experiments: list[experiment_pb2.Experiment] = []
        self.summaries: dict[str, Summary] = {}

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Input(placeholder="search experiments by name  (/)", id="search")
        table: DataTable[str] = DataTable(id="experiments", cursor_type="row", zebra_stripes=True)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#experiments", DataTable).focus()
        self.load()

    # -- data -----------------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="experiments", exit_on_error=False)
    def load(self) -> None:
        try:
            experiments = self.dashboard.backend.experiments()
        except Exception as exc:  # noqa: BLE001
            self.report(exc, "Cannot list experiments")
            return
        self.app.call_from_thread(self.show, experiments)

    @work(thread=True, exclusive=True, group="summaries", exit_on_error=False)
    def summarise(self) -> None:
        """Runs, last run and drift share per experiment: one small listing each, only while this screen
        is in front (a database busy sorting for us would slow the experiment the user opened)."""
        for experiment in list(self.experiments):
            if experiment.id in self.summaries:
                continue
            if not self.is_current or get_current_worker().is_cancelled:
                return
            try:
                summary = self.dashboard.backend.summary(experiment.id)
            except Exception as exc:  # noqa: BLE001
                self.report(exc, f"Cannot summarise {experiment.name}")
                return
            self.app.call_from_thread(self.show_summary, experiment.id, summary)

    def on_screen_resume(self) -> None:
        if self.experiments and len(self.summaries) < len(self.experiments):
            self.summarise()

    def show(self, experiments: list[experiment_pb2.Experiment]) -> None:
        self.experiments = experiments
        self.render_rows()
        if not self.open_first:
            self.summarise()
        else:
            name, self.open_first = self.open_first, ""
            match = next((e for e in experiments if e.name == name), None)
            if match is None:
                self.notify(f"no experiment named {name!r} that you can see", severity="warning")
                self.summarise()
            else:
                self.open(match)

    def render_rows(self) -> None:
        table = self.query_one("#experiments", DataTable)
        search = self.query_one("#search", Input).value.strip().lower()
        selected = self.selected()
        table.clear()
        for e in self.experiments:
            if search in e.name.lower():
                summary = self.summaries.get(e.id)
                table.add_row(
                    e.name, "public" if e.public else "private", fmt.access(e),
                    summary.runs_text if summary else "…", summary.last_run if summary else "…",
                    summary.share_text if summary else "…", key=e.id,
                )
        if selected is not None and selected.id in table.rows:
            table.move_cursor(row=table.get_row_index(selected.id))

    def show_summary(self, experiment_id: str, summary: Summary) -> None:
        self.summaries[experiment_id] = summary
        table = self.query_one("#experiments", DataTable)
        if experiment_id in table.rows:
            table.update_cell(experiment_id, "runs", summary.runs_text)
            table.update_cell(experiment_id, "last", summary.last_run)
            table.update_cell(experiment_id, "drift", summary.share_text)

    def selected(self) -> experiment_pb2.Experiment | None:
        table = self.query_one("#experiments", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((e for e in self.experiments if e.id == key), None)

    # -- actions --------------------------------------------------------------------------------------

    @on(Input.Changed, "#search")
    def search_changed(self) -> None:
        self.render_rows()

    @on(Input.Submitted, "#search")
    def search_done(self) -> None:
        self.query_one("#experiments", DataTable).focus()

    @on(DataTable.RowSelected, "#experiments")
    def row_selected(self, event: DataTable.RowSelected) -> None:
        experiment = next((e for e in self.experiments if e.id == event.row_key.value), None)
        if experiment is not None:
            self.open(experiment)

    def open(self, experiment: experiment_pb2.Experiment) -> None:
        from tui.screens.experiment import ExperimentScreen

        self.app.push_screen(ExperimentScreen(experiment))

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_clear_search(self) -> None:
        self.query_one("#search", Input).value = ""
        self.query_one("#experiments", DataTable).focus()

    def action_reload(self) -> None:
        self.summaries.clear()
        self.load()

    def action_create(self) -> None:
        from tui.screens.create_experiment import CreateExperimentScreen, NewExperiment

        def created(new: NewExperiment | None) -> None:
            if new is not None:
                self.create(new)

        self.app.push_screen(CreateExperimentScreen(), created)

    @work(thread=True, group="create", exit_on_error=False)
    def create(self, new: object) -> None:
        try:
            experiment = self.dashboard.backend.create_experiment(new.name, new.description, new.public)  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001
            self.report(exc, "Experiment not created")
            return
        self.app.call_from_thread(self.notify, f"created {experiment.name}", title="Experiment")
        self.load()
