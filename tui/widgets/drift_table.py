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
    rank (DataTable cannot insert at a row, and rebuilding thousands of rows takes seconds)."""

    rank = 0.0


def cells(drift: drift_pb2.Drift, rank: float = 0.0, time_field: str = "start_time") -> tuple[object, ...]:
    status = fmt.status(drift)
    time_cell = Ranked(fmt.stamp(fmt.moment(drift, time_field)))
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

    time_field = "start_time"  # what the Time column shows: the time the rows are ordered by

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self._add_columns()

    def _add_columns(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(fmt.TIME_FIELDS[self.time_field] if key == "time" else label, key=key, width=width)

    _top = 0.0  # rank of the first row; rows put on top go above it
    _bottom = 0.0  # rank of the last row; appended pages go below it

    def show(self, drifts: list[drift_pb2.Drift], time_field: str = "start_time") -> None:
        """A fresh listing (first page, new filter or order), its Time column showing time_field."""
        self.clear(columns=time_field != self.time_field)
        if not self.columns:
            self.time_field = time_field
            self._add_columns()
        self._top = self._bottom = 0.0
        self.append(drifts)

    def append(self, drifts: list[drift_pb2.Drift]) -> None:
        for drift in drifts:
            if drift.id not in self.rows:
                self._bottom += 1
                self.add_row(*cells(drift, self._bottom, self.time_field), key=drift.id)

    def place(self, drifts: list[tuple[drift_pb2.Drift, str | None, str | None]]) -> None:
        """New runs, each with the rows it goes between (None: the top or the bottom), in table order.
        The cursor stays on its run unless it is at the top, where whoever watches wants to see what
        comes in."""
        keep = self.current_key() if self.cursor_row > 0 else None
        for drift, above, below in drifts:
            if drift.id in self.rows:
                continue
            if above is None:
                self._top -= 1
                rank = self._top
            elif below is None:
                self._bottom += 1
                rank = self._bottom
            else:
                rank = (self._rank(above) + self._rank(below)) / 2
                if rank in (self._rank(above), self._rank(below)):  # halved too often: number the rows afresh
                    self._renumber()
                    rank = (self._rank(above) + self._rank(below)) / 2
            self.add_row(*cells(drift, rank, self.time_field), key=drift.id)
        self.sort("time", key=lambda cell: cell.rank)
        if keep is not None:
            self.move_cursor(row=self.get_row_index(keep), scroll=False)

    def _rank(self, drift_id: str) -> float:
        return self.get_cell(drift_id, "time").rank

    def _renumber(self) -> None:
        self.sort("time", key=lambda cell: cell.rank)
        for index, row in enumerate(self.ordered_rows):
            self.get_cell(row.key, "time").rank = float(index)
        self._top, self._bottom = 0.0, float(len(self.ordered_rows) - 1)

    def replace(self, drift: drift_pb2.Drift) -> None:
        for (key, _, _), value in zip(COLUMNS, cells(drift, self._rank(drift.id), self.time_field), strict=True):
            self.update_cell(drift.id, key, value)

    def discard(self, drift_id: str) -> None:
        if drift_id in self.rows:
            self.remove_row(drift_id)

    def current_key(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
