"""Jobs recording runs with the real client, watchers streaming, and the audit of what arrived.

Writers are threads each running DriftMonitor blocks (strict, so nothing hides in a spool) and keeping a
ledger of every run they began: its request_id and the status it must end with. Watchers are threads
reading WatchDrifts through Client.watch_drifts (which resumes from its last token after a disconnect).
The audit compares both with the database: every run exactly once with its final status, and every
watcher's events equal to the event log of the experiment, in order.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pymongo
from bson import ObjectId

from drift_monitoring import Client, DriftMonitor
from drift_monitoring.errors import DriftMonitorError
from drift_monitoring.v1 import drift_pb2

HEARTBEAT = drift_pb2.DRIFT_EVENT_TYPE_HEARTBEAT


class PlannedFailure(Exception):
    """Raised inside some runs on purpose: they must arrive as FAILED with this message."""


@dataclass
class Ledger:
    """What the writers began: request_id -> expected final status; and every error they saw."""

    expected: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def begin(self, request_id: str, status: str) -> None:
        with self.lock:
            self.expected[request_id] = status

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)


class Writer(threading.Thread):
    """Records runs until told to stop; every fifth run fails on purpose."""

    def __init__(self, index: int, settings: dict[str, Any], experiment: str, ledger: Ledger, stop: threading.Event) -> None:
        super().__init__(name=f"writer-{index}", daemon=True)
        self.index, self.settings, self.experiment, self.ledger, self.stop = index, settings, experiment, ledger, stop
        self.runs = 0

    def run(self) -> None:
        with Client(**self.settings) as client:
            while not self.stop.is_set():
                self.runs += 1
                failing = self.runs % 5 == 0
                monitor = DriftMonitor(self.experiment, f"model-{self.index}", client=client, strict=True, tags=[f"writer-{self.index}"])
                self.ledger.begin(monitor.request_id, "FAILED" if failing else "COMPLETED")
                try:
                    with monitor:
                        monitor.concept(self.runs % 2 == 0, {"run": self.runs, "writer": self.index})
                        if failing:
                            raise PlannedFailure(f"planned failure {self.runs}")
                        monitor.data(False, {"p_value": 0.5, "features": ["a", "b"]})
                except PlannedFailure:
                    pass
                except DriftMonitorError as exc:
                    self.ledger.error(f"{type(exc).__name__}: {exc}")


class Watcher(threading.Thread):
    """Collects (type, drift id) of every change until stopped and at least `wanted` have arrived."""

    def __init__(self, index: int, settings: dict[str, Any], experiment_id: str) -> None:
        super().__init__(name=f"watcher-{index}", daemon=True)
        self.settings, self.experiment_id = settings, experiment_id
        self.events: list[tuple[str, str]] = []
        self.subscribed = threading.Event()
        self.wanted: int | None = None
        self.error: str = ""

    def run(self) -> None:
        try:
            with Client(**self.settings) as client:
                for event in client.watch_drifts(self.experiment_id):
                    self.subscribed.set()  # the first message (a heartbeat) means the stream is live
                    if event.type != HEARTBEAT:
                        self.events.append((drift_pb2.DriftEventType.Name(event.type).removeprefix("DRIFT_EVENT_TYPE_"), event.drift.id))
                    if self.wanted is not None and len(self.events) >= self.wanted:
                        return
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.error = f"{type(exc).__name__}: {exc}"


def start_watchers(count: int, settings: dict[str, Any], experiment_id: str) -> list[Watcher]:
    watchers = [Watcher(i, settings, experiment_id) for i in range(count)]
    for watcher in watchers:
        watcher.start()
    for watcher in watchers:
        assert watcher.subscribed.wait(20), f"watcher did not subscribe: {watcher.error}"
    return watchers


@dataclass
class Audit:
    runs_expected: int
    runs_found: int
    duplicates: list[str]
    missing: list[str]
    wrong_status: list[str]
    events_in_log: int
    watcher_events: list[int]
    watchers_matching: int

    def row(self) -> str:
        return (f"runs expected {self.runs_expected} / found {self.runs_found}, duplicates {len(self.duplicates)}, "
                f"missing {len(self.missing)}, wrong status {len(self.wrong_status)}; events in log {self.events_in_log}, "
                f"watchers saw {self.watcher_events} ({self.watchers_matching} identical to the log)")


def audit(db: pymongo.database.Database, experiment_id: str, ledger: Ledger, watchers: list[Watcher], timeout: float = 60) -> Audit:
    """Compare the ledger and the watchers with the database (after the writers have finished)."""
    experiment = ObjectId(experiment_id)
    log = [(doc["type"], str(doc["drift"]["_id"])) for doc in db.events.find({"experiment": experiment}).sort("seq", 1)]
    for watcher in watchers:
        watcher.wanted = len(log)
    deadline = time.monotonic() + timeout
    for watcher in watchers:
        watcher.join(max(0.1, deadline - time.monotonic()))
    drifts = list(db.drifts.find({"experiment": experiment}, {"request_id": 1, "status": 1, "error_message": 1}))
    per_request = Counter(doc["request_id"] for doc in drifts)
    status = {doc["request_id"]: doc["status"] for doc in drifts}
    return Audit(
        runs_expected=len(ledger.expected),
        runs_found=len(drifts),
        duplicates=[rid for rid, n in per_request.items() if n > 1],
        missing=[rid for rid in ledger.expected if rid not in per_request],
        wrong_status=[rid for rid, want in ledger.expected.items() if rid in status and status[rid] != want],
        events_in_log=len(log),
        watcher_events=[len(w.events) for w in watchers],
        watchers_matching=sum(w.events == log for w in watchers),
    )
