"""The drifts of one experiment as a table. DataTable renders only the visible rows; the screen keeps the
model (which runs, in which order) and pages from the server, so 100,000 runs never load at once."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from drift_monitoring.v1 import drift_pb2
from tui import format as fmt

# Fixed widths: columns do not jump as live runs arrive, and every paint lays out the same.
COLUMNS = (("time", "Time", 19), ("model", "Model", 20), ("status", "Status", 9), ("concept", "Concept", 7), ("data", "Data", 5), ("tags", "Tags", 24))
# LOST (the job stopped heartbeating, docs/leases.md) must not read as running or as failed.
STATUS_STYLE = {"RUNNING": "bold yellow", "COMPLETED": "green", "FAILED": "bold red", "LOST": "bold magenta"}


def _verdict(drift: drift_pb2.Drift, field: str) -> Text:
    word = fmt.verdict(drift, field)
    return Text(word, style="bold red" if word == "DRIFT" else "dim" if word == "·" else "")


class Ranked(Text):
    """The time cell, carrying the row's place: new runs are appended and then sorted into place by
    rank (DataTable cannot insert at the top, and rebuilding thousands of rows takes seconds)."""

    rank = 0


def cells(drift: drift_pb2.Drift, rank: int = 0) -> tuple[object, ...]:
    status = fmt.status(drift)
    time_cell = Ranked(fmt.stamp(fmt.when(drift)))
    time_cell.rank = rank
    return (
        time_cell, drift.model, Text(status, style=STATUS_STYLE.get(status, "")),
        _verdict(drift, "concept_drift"), _verdict(drift, "data_drift"), ", ".join(drift.tags),
    )


class DriftTable(DataTable[object]):
    BINDINGS = [
        Binding("home", "scroll_top", "Top", show=False),
        Binding("end", "scroll_bottom", "Bottom", show=False),
        Binding("g", "scroll_top", "Top", show=False),
        Binding("G", "scroll_bottom", "Bottom", show=False),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]
    NEAR = 20  # rows from the end at which the next page is wanted

    class NearEnd(Message):
        """The view reached the last rows (by cursor or by scrolling): time for the next server page."""

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self.row_count and new_value >= self.max_scroll_y - self.NEAR:
            self.post_message(self.NearEnd())

    def watch_cursor_coordinate(self, old: object, new: object) -> None:
        super().watch_cursor_coordinate(old, new)  # type: ignore[arg-type]
        if self.row_count and self.cursor_row >= self.row_count - self.NEAR:
            self.post_message(self.NearEnd())

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    _top = 0  # rank of the first row; prepended rows go above it
    _bottom = 0  # rank of the last row; appended pages go below it

    def show(self, drifts: list[drift_pb2.Drift]) -> None:
        """A fresh listing (first page, new filter or order)."""
        self.clear()
        self._top = self._bottom = 0
        self.append(drifts)

    def append(self, drifts: list[drift_pb2.Drift]) -> None:
        for drift in drifts:
            if drift.id not in self.rows:
                self._bottom += 1
                self.add_row(*cells(drift, self._bottom), key=drift.id)

    def prepend(self, drifts: list[drift_pb2.Drift]) -> None:
        """New runs, oldest first, above the rest; the cursor stays on its run unless it is at the top,
        where whoever watches wants to see what comes in."""
        keep = self.current_key() if self.cursor_row > 0 else None
        for drift in drifts:
            if drift.id not in self.rows:
                self._top -= 1
                self.add_row(*cells(drift, self._top), key=drift.id)
        self.sort("time", key=lambda cell: cell.rank)
        if keep is not None:
            self.move_cursor(row=self.get_row_index(keep), scroll=False)

    def replace(self, drift: drift_pb2.Drift) -> None:
        rank = self.get_cell(drift.id, "time").rank
        for (key, _, _), value in zip(COLUMNS, cells(drift, rank), strict=True):
            self.update_cell(drift.id, key, value)

    def discard(self, drift_id: str) -> None:
        if drift_id in self.rows:
            self.remove_row(drift_id)

    def current_key(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
