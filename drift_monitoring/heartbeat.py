"""The lease heartbeat of DriftMonitor's runs: a daemon thread beside the sender renews the lease of every
live run every `settings.heartbeat` seconds, so the server can tell a quiet job from a dead one.

It never touches the job's thread and never waits on the sender's queue (a long spool sync must not let a
lease run out). A renewal that fails because the server is unreachable is simply tried again next beat:
the lease is three beats long, and a run the server marked LOST meanwhile comes back on the next renewal.
A run the server refuses to renew (finished or deleted) is dropped.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from drift_monitoring.errors import DriftMonitorError, NotFoundError, UnavailableError

if TYPE_CHECKING:
    from drift_monitoring.client import Client

log = logging.getLogger("drift_monitoring")
LEASE_BEATS = 3  # a lease lasts this many heartbeats: the server marks a run LOST after three missed ones
MIN_LEASE_MS = 1000  # the server's lower bound


@dataclass
class Run:
    """What the sender and the heartbeat know of one monitored run."""

    experiment_id: str
    request_id: str
    drift_id: str = ""
    finished: bool = False  # the job left the monitor: no more heartbeats


def lease_ms(heartbeat: float) -> int:
    return max(MIN_LEASE_MS, round(heartbeat * LEASE_BEATS * 1000))


class Heartbeat:
    def __init__(self, client: Client) -> None:
        self._client = client
        self._interval = client.settings.heartbeat
        self._runs: dict[int, Run] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, run: Run) -> None:
        """Start renewing a run the server has created (unless the job finished meanwhile)."""
        with self._lock:
            if run.finished or self._stopped.is_set():
                return
            self._runs[id(run)] = run
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="drift-monitor-heartbeat", daemon=True)
                self._thread.start()

    def discard(self, run: Run) -> None:
        with self._lock:
            self._runs.pop(id(run), None)

    def stop(self) -> None:
        self._stopped.set()

    def _loop(self) -> None:
        while not self._stopped.wait(self._interval):
            with self._lock:
                runs = [run for run in self._runs.values() if not run.finished]
            for run in runs:
                self._renew(run)

    def _renew(self, run: Run) -> None:
        try:  # bounded by the beat
            self._client.renew_lease(run.experiment_id, run.drift_id, budget=min(self._interval, self._client.settings.timeout))
        except UnavailableError as exc:
            log.debug("drift monitor: heartbeat of run %s not delivered (%s); next beat retries", run.drift_id, exc)
        except (NotFoundError, DriftMonitorError) as exc:
            if type(exc) in (NotFoundError, DriftMonitorError):  # deleted, or finished (FAILED_PRECONDITION)
                log.info("drift monitor: run %s no longer takes heartbeats (%s)", run.drift_id, exc)
                self.discard(run)
            else:  # e.g. a token being refreshed: keep beating
                log.warning("drift monitor: heartbeat of run %s refused (%s)", run.drift_id, exc)
