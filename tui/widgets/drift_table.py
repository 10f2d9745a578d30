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
COLUMNS = (("time", "Time", 19), ("model", "Model", 24), ("status", "Status", 9), ("concept", "Concept", 7), ("data", "Data", 5), ("tags", "Tags", 24))
STATUS_STYLE = {"RUNNING": "bold yellow", "COMPLETED": "green", "FAILED": "bold red"}


def _verdict(drift: drift_pb2.Drift, field: str) -> Text:
    word = fmt.verdict(drift, field)
    return Text(word, style="bold red" if word == "DRIFT" else "dim" if word == "·" else "")


def cells(drift: drift_pb2.Drift) -> tuple[object, ...]:
    status = fmt.status(drift)
    return (
        fmt.stamp(fmt.when(drift)), drift.model, Text(status, style=STATUS_STYLE.get(status, "")),
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

    def show(self, drifts: list[drift_pb2.Drift]) -> None:
        """All rows again, keeping the cursor on the run it was on (or at the top, to watch new runs come)."""
        keep = self.current_key() if self.cursor_row > 0 else None
        self.clear()
        for drift in drifts:
            self.add_row(*cells(drift), key=drift.id)
        if keep is not None and keep in self.rows:
            self.move_cursor(row=self.get_row_index(keep), scroll=False)

    def append(self, drifts: list[drift_pb2.Drift]) -> None:
        for drift in drifts:
            if drift.id not in self.rows:
                self.add_row(*cells(drift), key=drift.id)

    def replace(self, drift: drift_pb2.Drift) -> None:
        for (key, _, _), value in zip(COLUMNS, cells(drift), strict=True):
            self.update_cell(drift.id, key, value)

    def current_key(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
