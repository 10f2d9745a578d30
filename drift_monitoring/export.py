"""`drift-monitor export`: an experiment's runs to a file, streamed from the server (ExportDrifts), with a
progress bar. The file appears only once complete: chunks go to `<file>.part`, renamed at the end."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TextIO

from drift_monitoring.client import Client
from drift_monitoring.v1 import drift_pb2

FORMATS = {"csv": drift_pb2.EXPORT_FORMAT_CSV, "jsonl": drift_pb2.EXPORT_FORMAT_JSON_LINES, "parquet": drift_pb2.EXPORT_FORMAT_PARQUET}


class Bar:
    """A progress bar on a terminal (redrawn in place), a line per 10 % otherwise."""

    def __init__(self, label: str, stream: TextIO) -> None:
        self.label, self.stream = label, stream
        self._tty = stream.isatty()
        self._drawn = 0.0
        self._tenth = -1

    def show(self, fraction: float, runs: int, size: int) -> None:
        if self._tty:
            if time.monotonic() - self._drawn >= 0.1 or fraction >= 1.0:
                bar = "#" * int(fraction * 30)
                self.stream.write(f"\r{self.label} [{bar:<30}] {fraction:4.0%} {runs} runs, {size / 1e6:.1f} MB")
                self.stream.flush()
                self._drawn = time.monotonic()
        elif int(fraction * 10) > self._tenth:
            self._tenth = int(fraction * 10)
            self.stream.write(f"{self.label} {fraction:.0%} {runs} runs, {size / 1e6:.1f} MB\n")
            self.stream.flush()

    def close(self) -> None:
        if self._tty:
            self.stream.write("\n")


def export(
    client: Client, experiment_id: str, path: Path, kind: str, filter: str = "", *,  # noqa: A002
    per_feature: bool = False, progress: TextIO | None = sys.stderr,
) -> tuple[int, int]:
    """Write the export to path; returns (runs, bytes)."""
    partial = path.with_name(path.name + ".part")
    bar = Bar(f"export {path.name}", progress) if progress is not None else None
    runs = size = 0
    try:
        with open(partial, "wb") as out:
            for chunk in client.export_drifts(experiment_id, FORMATS[kind], filter, csv_row_per_feature=per_feature):
                out.write(chunk.data)
                size += len(chunk.data)
                state = drift_pb2.ExportProgress()
                if chunk.extensions and chunk.extensions[0].Unpack(state):
                    runs = state.runs_exported
                    if bar is not None:
                        bar.show(state.fraction_done, runs, size)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        if bar is not None:
            bar.close()
    return runs, size
