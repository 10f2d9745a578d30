"""One experiment: its runs in a table that updates live, a filter in the server's language, sorting,
server paging as you scroll, and charts. The table holds what has been paged in (newest first by
default); live events are applied as they come and never twice."""

from __future__ import annotations

import time
from collections import deque

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Input, Label

from drift_monitoring.v1 import drift_pb2, experiment_pb2
from tui import format as fmt
from tui.backend import Page
from tui.live import LiveFeed
from tui.screens.base import DashboardScreen
from tui.widgets.charts import DriftCharts
from tui.widgets.drift_table import DriftTable
from tui.widgets.status_bar import StatusBar

# Newest first by when the jobs started, which is what the Time column shows: a spooled run synced a week
# late sorts where it ran (its create_time is when the server got it).
ORDERS = ("start_time desc", "start_time", "create_time desc", "update_time desc", "model", "status")
LIVE_ORDER = ORDERS[0]  # the view new runs can be put into without asking the server
COLUMN_ORDERS = {"model": "model", "status": "status"}  # and "time": whichever time the column shows
MAX_ROWS = 2000  # live runs beyond this push the oldest out; scrolling down pages them in again
KEYSET = "\0keyset"  # continue below the oldest loaded run by filter, after trimming lost the page token
REMEMBERED_EVENTS = 10_000


class ExperimentScreen(DashboardScreen):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("f", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
        Binding("c", "charts", "Charts"),
        Binding("p", "parameter", "Chart param", show=False),
        Binding("a", "alerts", "Alerts"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self, experiment: experiment_pb2.Experiment) -> None:
        super().__init__()
        self.experiment = experiment
        self.drifts: dict[str, drift_pb2.Drift] = {}
        self.order: list[str] = []
        self.next_token = ""
        self.filter_text, self.order_by = "", LIVE_ORDER
        self.generation = 0  # listings from before the last reload are dropped
        self.loading_more = False
        self.dirty = False  # runs waiting in self.incoming to be put on top of the table
        self.incoming: list[str] = []
        self.pending_new = 0
        self.parameter = ""
        self.opened_at = time.perf_counter()
        self.first_paint: float | None = None
        # Exactly-once accounting (tests and the status line read it): events applied, and any repeat.
        self.events_applied = 0
        self.duplicates = 0
        self._recent: deque[tuple[int, str, str]] = deque(maxlen=REMEMBERED_EVENTS)
        self._recent_set: set[tuple[int, str, str]] = set()
        self.feed: LiveFeed | None = None

    def compose(self) -> ComposeResult:
        yield StatusBar()
        with Horizontal(id="experiment-bar"):
            yield Label(self.experiment.name, id="experiment-name")
            yield Label("", id="info")
        yield Input(placeholder='filter, e.g. status = FAILED AND data_drift.detected = true  (f)', id="filter")
        yield DriftCharts(id="charts")
        yield DriftTable(id="drifts")
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#charts").display = False
        self.query_one(DriftTable).focus()
        self.feed = LiveFeed(
            self.dashboard.backend, self.experiment.id,
            on_event=lambda event: self.app.call_from_thread(self.apply, event),
            on_ready=lambda fresh: self.app.call_from_thread(self.resync) if fresh else None,
            on_error=lambda exc: self.report(exc, "Live updates"),
            on_gap=lambda: self.app.call_from_thread(self.caught_up),
            on_ended=lambda reason: self.app.call_from_thread(self.live_ended, reason),
        )
        self.load()  # the watch starts once the first page is shown: first paint does not wait behind it
        self.set_interval(0.25, self.flush)

    def on_unmount(self) -> None:
        if self.feed is not None:
            self.feed.stop()

    # -- listing --------------------------------------------------------------------------------------

    @property
    def live(self) -> bool:
        return self.order_by == LIVE_ORDER and not self.filter_text

    @work(thread=True, exclusive=True, group="page", exit_on_error=False)
    def load(self) -> None:
        generation = self.generation
        try:
            page = self.dashboard.backend.drifts(self.experiment.id, self.filter_text, self.order_by)
        except Exception as exc:  # noqa: BLE001
            self.report(exc, "Cannot list runs")
            return
        self.app.call_from_thread(self.show_first, page, generation)

    def show_first(self, page: Page, generation: int) -> None:
        if generation != self.generation:
            return
        self.drifts = {d.id: d for d in page.drifts}
        self.order = [d.id for d in page.drifts]
        self.next_token, self.pending_new, self.dirty, self.incoming = page.next_token, 0, False, []
        table = self.query_one(DriftTable)
        table.show(page.drifts, self.time_field)
        table.move_cursor(row=0)
        self.redraw()
        if self.first_paint is None:
            self.call_after_refresh(self._painted)
            self.follow()

    def _painted(self) -> None:
        self.first_paint = time.perf_counter() - self.opened_at

    def resync(self) -> None:
        """The watch is live: read the first page again and merge it, to catch runs made in between."""
        self.merge_first()

    @work(thread=True, group="resync", exit_on_error=False)
    def merge_first(self) -> None:
        generation = self.generation
        try:
            page = self.dashboard.backend.drifts(self.experiment.id, self.filter_text, self.order_by)
        except Exception as exc:  # noqa: BLE001
            self.report(exc, "Cannot list runs")
            return
        self.app.call_from_thread(self._merge, page, generation)

    def _merge(self, page: Page, generation: int) -> None:
        if generation != self.generation:
            return
        fresh = [d for d in page.drifts if d.id not in self.drifts]
        for drift in page.drifts:
            self._keep(drift)
        if self.live:
            for drift in fresh:
                self._insert(drift)

    @work(thread=True, exclusive=True, group="more", exit_on_error=False)
    def load_more(self) -> None:
        generation, token, filter_text = self.generation, self.next_token, self.filter_text
        if token == KEYSET:  # continue below the oldest run still held (live view only: start_time desc)
            oldest = self.drifts[self.order[-1]].start_time.ToJsonString()
            clause = f"start_time < {oldest}"
            filter_text, token = (f"({filter_text}) AND {clause}" if filter_text else clause), ""
        try:
            page = self.dashboard.backend.drifts(self.experiment.id, filter_text, self.order_by, token)
        except Exception as exc:  # noqa: BLE001
            self.report(exc, "Cannot list more runs")
            page = None
        self.app.call_from_thread(self.show_more, page, generation)

    def show_more(self, page: Page | None, generation: int) -> None:
        self.loading_more = False
        if page is None or generation != self.generation:
            return
        new = [d for d in page.drifts if d.id not in self.drifts]
        for drift in new:
            self.drifts[drift.id] = drift
            self.order.append(drift.id)
        self.next_token = page.next_token
        self.query_one(DriftTable).append(new)
        self.redraw()

    @on(DriftTable.NearEnd)
    def near_end(self) -> None:
        if self.next_token and not self.loading_more and self.first_paint is not None:
            self.loading_more = True
            self.load_more()

    # -- live -----------------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="feed", exit_on_error=False)
    def follow(self) -> None:
        if self.feed is not None:
            self.feed.run()

    def apply(self, event: drift_pb2.WatchDriftsResponse) -> None:
        drift = event.drift
        key = (event.type, drift.id, drift.update_time.ToJsonString() if drift.HasField("update_time") else "")
        if key in self._recent_set:
            self.duplicates += 1
        else:
            if len(self._recent) == self._recent.maxlen:
                self._recent_set.discard(self._recent[0])
            self._recent.append(key)
            self._recent_set.add(key)
        self.events_applied += 1
        if event.type == drift_pb2.DRIFT_EVENT_TYPE_DELETED:
            if self.drifts.pop(drift.id, None) is not None:
                self.order.remove(drift.id)
                if drift.id in self.incoming:
                    self.incoming.remove(drift.id)
                self.query_one(DriftTable).discard(drift.id)
                self.redraw_info()
        elif drift.id in self.drifts:
            self._keep(drift)
        elif event.type == drift_pb2.DRIFT_EVENT_TYPE_CREATED:
            if self.live:
                self._insert(drift)
            else:
                self.pending_new += 1
                self.redraw_info()

    def _insert(self, drift: drift_pb2.Drift) -> None:
        """A run new to the live view, put where LIVE_ORDER (start_time desc, then id desc, as the server
        orders) places it; one older than every loaded run waits for its page, if there are more."""
        key = _live_key(drift)
        low, high = 0, len(self.order)
        while low < high:  # the first held run that sorts after it
            middle = (low + high) // 2
            if _live_key(self.drifts[self.order[middle]]) > key:
                low = middle + 1
            else:
                high = middle
        if low == len(self.order) and self.next_token:
            return
        self.drifts[drift.id] = drift
        self.order.insert(low, drift.id)
        self.incoming.append(drift.id)
        self.dirty = True

    def caught_up(self) -> None:
        """The watch was away longer than the server's event log reaches back: read the runs afresh."""
        self.notify("Away longer than the server keeps changes: the runs were read again; live from now on.",
                    title="Live updates resumed", severity="warning", timeout=10)
        self.reload()

    def live_ended(self, reason: str) -> None:
        self.notify(f"Live updates stopped: {reason}.", title="Live updates stopped", severity="error", timeout=30)
        self.redraw_info()

    def _keep(self, drift: drift_pb2.Drift) -> None:
        """Take a newer version of a run already shown (an older one, from a slow listing, is ignored)."""
        held = self.drifts.get(drift.id)
        if held is not None and held.update_time.ToNanoseconds() > drift.update_time.ToNanoseconds():
            return
        self.drifts[drift.id] = drift
        table = self.query_one(DriftTable)
        if drift.id in table.rows:
            table.replace(drift)  # else it waits in self.incoming, and goes in as it is now

    def flush(self) -> None:
        """Put the runs that came in since the last tick on top, a few times a second (one sort each)."""
        if not self.dirty:
            return
        self.dirty = False
        table = self.query_one(DriftTable)
        waiting = {i for i in self.incoming if i in self.drifts}
        placed, above = [], None
        for index, drift_id in enumerate(self.order):  # in table order, each between its shown neighbours
            if drift_id in waiting:
                below = next((i for i in self.order[index + 1:] if i in table.rows), None)
                placed.append((self.drifts[drift_id], above, below))
            above = drift_id
        table.place(placed)
        self.incoming = []
        if len(self.order) > MAX_ROWS:
            for gone in self.order[MAX_ROWS:]:
                del self.drifts[gone]
                table.discard(gone)
            del self.order[MAX_ROWS:]
            self.next_token = KEYSET
        self.redraw()

    # -- drawing --------------------------------------------------------------------------------------

    @property
    def time_field(self) -> str:
        """The time the table's Time column shows: the one it is ordered by, else when runs started."""
        field = self.order_by.split()[0]
        return field if field in fmt.TIME_FIELDS else "start_time"

    def redraw(self) -> None:
        self.redraw_info()
        charts = self.query_one(DriftCharts)
        if charts.display:
            charts.plot([self.drifts[i] for i in self.order], self.parameter)

    def redraw_info(self) -> None:
        parts = [f"{len(self.order)} runs" + (" (more ↓)" if self.next_token else ""), f"order: {self.order_by}"]
        if self.filter_text:
            parts.append("filtered")
        if self.pending_new:
            parts.append(f"{self.pending_new} new: r to reload")
        if self.feed is not None and self.feed.ended:
            parts.append(f"live updates stopped: {self.feed.ended}")
        self.query_one("#info", Label).update("  ·  ".join(parts))

    # -- actions --------------------------------------------------------------------------------------

    def reload(self) -> None:
        self.generation += 1
        self.loading_more = False
        self.load()

    def action_reload(self) -> None:
        self.reload()

    def action_back(self) -> None:
        if self.focused is self.query_one("#filter", Input):
            self.query_one(DriftTable).focus()
        else:
            self.app.pop_screen()

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    @on(Input.Submitted, "#filter")
    def filter_submitted(self, event: Input.Submitted) -> None:
        self.filter_text = event.value.strip()
        self.query_one(DriftTable).focus()
        self.reload()

    def action_sort(self) -> None:
        self.order_by = ORDERS[(ORDERS.index(self.order_by) + 1) % len(ORDERS)] if self.order_by in ORDERS else LIVE_ORDER
        self.reload()

    @on(DataTable.HeaderSelected, "#drifts")
    def header_clicked(self, event: DataTable.HeaderSelected) -> None:
        column = str(event.column_key.value)
        field = self.time_field if column == "time" else COLUMN_ORDERS.get(column)
        if field is None:
            self.notify("sort by time, model or status", severity="warning")
            return
        self.order_by = f"{field} desc" if self.order_by == field else field
        self.reload()

    def action_charts(self) -> None:
        charts = self.query_one(DriftCharts)
        charts.display = not charts.display
        self.redraw()

    def action_parameter(self) -> None:
        paths: list[str] = []
        for drift_id in self.order[:200]:
            paths.extend(p for p in fmt.parameter_paths(self.drifts[drift_id]) + fmt.feature_paths(self.drifts[drift_id]) if p not in paths)
        if not paths:
            self.notify("no numeric parameters in the loaded runs", severity="warning")
            return
        self.parameter = paths[(paths.index(self.parameter) + 1) % len(paths)] if self.parameter in paths else paths[0]
        charts = self.query_one(DriftCharts)
        charts.display = True
        self.redraw()

    def action_alerts(self) -> None:
        from tui.screens.alerts import AlertsScreen

        self.app.push_screen(AlertsScreen(self.experiment))

    @on(DataTable.RowSelected, "#drifts")
    def open_run(self, event: DataTable.RowSelected) -> None:
        from tui.screens.drift import DriftScreen

        drift = self.drifts.get(str(event.row_key.value))
        if drift is not None:
            self.app.push_screen(DriftScreen(drift))


def _live_key(drift: drift_pb2.Drift) -> tuple[int, str]:
    return drift.start_time.ToNanoseconds(), drift.id
