"""Native charts of the loaded runs: run activity (sparkline), drift rate over time, and one chosen
`*.parameters.*` value over time with detected runs marked. Drawn as text, so they follow the theme and
fit 80x24."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Label, Sparkline

from drift_monitoring.v1 import drift_pb2
from tui import format as fmt


@dataclass(frozen=True)
class Point:
    x: float  # seconds since the epoch
    y: float
    marked: bool = False


def buckets(points: Sequence[Point], count: int) -> list[list[Point]]:
    """Points spread over `count` equal time slices (empty slices stay empty)."""
    if not points or count <= 0:
        return []
    low, high = min(p.x for p in points), max(p.x for p in points)
    span = (high - low) or 1.0
    slices: list[list[Point]] = [[] for _ in range(count)]
    for p in points:
        slices[min(count - 1, int((p.x - low) / span * count))].append(p)
    return slices


class PointChart(Widget):
    """y over time, one column per time slice: bars (a rate) or dots (a value), marked slices in red."""

    DEFAULT_CSS = "PointChart { height: 4; }"
    points: reactive[tuple[Point, ...]] = reactive(())

    def __init__(self, *, bars: bool = False, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.bars = bars

    def render(self) -> Text:
        width, height = max(1, self.size.width - 8), max(1, self.size.height)
        if not self.points:
            return Text("no data yet", style="dim")
        # A rate needs several runs per bar: about four runs a slice, each slice as wide as fits.
        count = min(width, max(1, len(self.points) // 4)) if self.bars else width
        slices = buckets(self.points, count)
        values = [sum(p.y for p in s) / len(s) if s else None for s in slices]
        known = [v for v in values if v is not None]
        low, high = (0.0, max(1e-9, max(known))) if self.bars else (min(known), max(known))
        span = (high - low) or 1.0
        rows = [[" "] * width for _ in range(height)]
        styles: list[list[str]] = [[""] * width for _ in range(height)]
        for index, (value, slice_) in enumerate(zip(values, slices, strict=True)):
            if value is None:
                continue
            level = round((value - low) / span * (height - 1))
            marked = any(p.marked for p in slice_)
            if self.bars:
                for column in range(index * width // count, max(index * width // count + 1, (index + 1) * width // count - 1)):
                    for row in range(height - 1 - level, height):
                        rows[row][column], styles[row][column] = ("█" if value > 0 else "▁", "red" if value > 0 else "green")
            else:
                column = index
                rows[height - 1 - level][column] = "●" if marked else "•"
                styles[height - 1 - level][column] = "bold red" if marked else "cyan"
        text = Text()
        for index, row in enumerate(rows):
            label = f"{high:>7.3g} " if index == 0 else f"{low:>7.3g} " if index == height - 1 else " " * 8
            text.append(label, style="dim")
            for char, style in zip(row, styles[index], strict=True):
                text.append(char, style=style)
            if index < height - 1:
                text.append("\n")
        return text


def activity(drifts: Sequence[drift_pb2.Drift], width: int = 60) -> list[float]:
    return [float(len(s)) for s in buckets([Point(fmt.when(d).timestamp(), 1.0) for d in drifts], width)]


def drift_rate(drifts: Sequence[drift_pb2.Drift]) -> tuple[Point, ...]:
    finished = [d for d in drifts if d.status in fmt.FINISHED]
    return tuple(Point(fmt.when(d).timestamp(), 1.0 if fmt.detected(d) else 0.0) for d in finished)


def parameter_series(drifts: Sequence[drift_pb2.Drift], path: str) -> tuple[Point, ...]:
    points = []
    for d in drifts:
        value = fmt.parameter(d, path)
        if value is not None:
            points.append(Point(fmt.when(d).timestamp(), value, fmt.detected(d)))
    return tuple(points)


class DriftCharts(Vertical):
    """The three charts over the runs the table has loaded (newest first, as far as paged)."""

    def compose(self) -> ComposeResult:
        yield Label("activity", classes="chart-title", id="activity-title")
        yield Sparkline([], id="activity")
        yield Label("drift rate over time", classes="chart-title")
        yield PointChart(bars=True, id="rate")
        yield Label("parameter: none (press p)", classes="chart-title", id="parameter-title")
        yield PointChart(id="parameter")

    def plot(self, drifts: Sequence[drift_pb2.Drift], parameter: str) -> None:
        self.query_one("#activity", Sparkline).data = activity(drifts) or [0.0]
        self.query_one("#activity-title", Label).update(f"activity: {len(drifts)} loaded runs")
        self.query_one("#rate", PointChart).points = drift_rate(drifts)
        # Text, not markup: a feature path's "[age]" would be read as a style.
        self.query_one("#parameter-title", Label).update(Text(f"{parameter or 'no parameter chosen'} over time (p: next parameter; ● drift)"))
        self.query_one("#parameter", PointChart).points = parameter_series(drifts, parameter) if parameter else ()
