"""Background delivery of DriftMonitor's runs: the job records, a thread sends.

One Sender per Client, one daemon thread. A run's operations (create, result updates, final state) are
queued in order; whatever piled up while a call was in flight is coalesced (a run whose final state is
already queued skips its intermediate updates; consecutive updates merge), so a fast job costs two calls
and a slow one shows its results live. A final state is first written to the spool by the monitor, so
it survives a crash; the sender claims that file, delivers it, and deletes it once the server has it.
When the server is unreachable the files simply stay for the next sender or `drift-monitor sync`.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from drift_monitoring.errors import DriftMonitorError, UnavailableError
from drift_monitoring.heartbeat import Heartbeat, Run
from drift_monitoring.spool import Spool, make_durable
from drift_monitoring.v1 import drift_pb2

if TYPE_CHECKING:
    from drift_monitoring.client import Client

log = logging.getLogger("drift_monitoring")
RESULTS = ("concept_drift", "data_drift", "result")
FINAL_PATHS = ("status", "end_time", "error_message")


class Breaker(Protocol):
    """Shared by the processes of a user: after one found the server unreachable, others do not wait."""

    def trip(self) -> None: ...

    def tripped(self) -> bool: ...


@dataclass
class Op:
    run: Run
    kind: str  # "create" | "update" | "final", or "sync" (send the spool), "persist" (fsync a spool file)
    drift: drift_pb2.Drift = field(default_factory=drift_pb2.Drift)  # a snapshot: the job keeps mutating its own
    paths: tuple[str, ...] = ()
    spool_file: Path | None = None  # the final state as written to the spool
    futures: list[Future] = field(default_factory=list)


def final_paths(drift: drift_pb2.Drift) -> list[str]:
    return [*FINAL_PATHS, *(r for r in RESULTS if drift.HasField(r))]


def deliver_final(client: Client, experiment_id: str, request_id: str, drift: drift_pb2.Drift, drift_id: str = "", budget: float | None = None) -> None:
    """Store a run's final state exactly once: an update when the run was created, else a create carrying
    the final state (request_id makes a repeat harmless), then an update if the server had it as RUNNING."""
    final = drift_pb2.Drift()
    final.CopyFrom(drift)
    if not drift_id:
        final.ClearField("id")
        created = client.create_drift(experiment_id, final, request_id, budget=budget)
        if created.status == final.status:
            return
        drift_id = created.id
    final.id, final.experiment_id = drift_id, experiment_id
    client.update_drift(final, final_paths(final), budget=budget)


class Sender:
    def __init__(self, client: Client, breaker: Breaker, sync: Callable[[Client], Any]) -> None:
        self._client = client
        self._breaker = breaker
        self._sync = sync
        self._queue: queue.Queue[Op | None] = queue.Queue()
        self._idle = threading.Condition()
        self._unfinished = 0
        self._offline = False
        self.heartbeat = Heartbeat(client)  # its own thread: a slow call here never lets a lease lapse
        self._thread = threading.Thread(target=self._loop, name="drift-monitor-sender", daemon=True)
        self._thread.start()
        _LIVE.add(self)
        self.submit(Op(Run("", ""), "sync"))  # runs left in the spool by earlier processes

    def submit(self, op: Op) -> Future:
        future: Future = Future()
        op.futures.append(future)
        with self._idle:
            self._unfinished += 1
        self._queue.put(op)
        return future

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted has been handled (at most `timeout`, by default the client's
        settings.timeout); False when the timeout came first."""
        if timeout is None:
            timeout = self._client.settings.timeout
        with self._idle:
            return self._idle.wait_for(lambda: self._unfinished == 0, timeout)

    def stop(self, timeout: float) -> None:
        self.heartbeat.stop()
        self.flush(timeout)
        self._queue.put(None)
        _LIVE.discard(self)

    # -- the thread ---------------------------------------------------------------------------------------

    def _loop(self) -> None:
        pending: list[Op] = []
        stopping = False
        while True:
            if not pending:
                first = self._queue.get()
                if first is None:
                    return
                pending.append(first)
            stopping = self._take_waiting(pending) or stopping
            # Coalesced just before each call: what arrived while the previous call was in flight merges.
            pending = _coalesce(pending)
            op = pending.pop(0)
            try:
                self._execute(op)
            except Exception as exc:  # noqa: BLE001 - the thread must live on; the error goes to the waiter
                for future in op.futures:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for future in op.futures:
                    if not future.done():
                        future.set_result(None)
            with self._idle:
                self._unfinished -= len(op.futures)
                self._idle.notify_all()
            if stopping and not pending:
                return

    def _take_waiting(self, pending: list[Op]) -> bool:
        """Move queued operations to pending without blocking; True when a stop was asked for."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return False
            if item is None:
                return True
            pending.append(item)

    def _execute(self, op: Op) -> None:
        if op.kind == "sync":
            self._sync(self._client)
            return
        if op.kind == "persist":  # a run spooled while offline: durable, off the job's thread
            make_durable(op.spool_file)  # type: ignore[arg-type]
            return
        if op.kind == "final" and self._breaker.tripped():
            raise UnavailableError("the server was unreachable moments ago; the run stays in the spool")
        try:
            if op.kind == "create":
                created = self._client.create_drift(op.run.experiment_id, op.drift, op.run.request_id)
                op.run.drift_id = created.id
                if created.HasField("lease_duration"):
                    self.heartbeat.add(op.run)
            elif op.kind == "update":
                if not op.run.drift_id:
                    raise DriftMonitorError("the run was not created; its final state carries this result")
                drift = drift_pb2.Drift()
                drift.CopyFrom(op.drift)
                drift.id, drift.experiment_id = op.run.drift_id, op.run.experiment_id
                self._client.update_drift(drift, list(op.paths))
            else:
                self._final(op)
        except UnavailableError:
            self._offline = True
            self._breaker.trip()
            raise
        if self._offline:  # the server is back: send what earlier failures left in the spool
            self._offline = False
            self.submit(Op(Run("", ""), "sync"))

    def _final(self, op: Op) -> None:
        if op.spool_file is None:  # strict mode: nothing spooled, the caller waits for the outcome
            deliver_final(self._client, op.run.experiment_id, op.run.request_id, op.drift, op.run.drift_id)
            return
        with Spool(op.spool_file.parent).session() as session:
            claimed = session.take(op.spool_file)
            if claimed is None:
                return  # `drift-monitor sync` or another process is sending it
            try:
                deliver_final(self._client, op.run.experiment_id, op.run.request_id, op.drift, op.run.drift_id)
            except UnavailableError:
                claimed.rename(op.spool_file)  # stays for the next attempt, and must survive a machine crash
                make_durable(op.spool_file)
                raise
            except DriftMonitorError as exc:
                rejected = op.spool_file.with_name(op.spool_file.name + ".rejected")
                claimed.rename(rejected)
                log.error("drift monitor: the server refused run %s (%s); kept as %s", op.run.request_id, exc, rejected)
                raise
            claimed.unlink(missing_ok=True)


def _coalesce(batch: list[Op]) -> list[Op]:
    finished = {id(op.run) for op in batch if op.kind == "final"}
    out: list[Op] = []
    for op in batch:
        if op.kind in ("create", "update") and id(op.run) in finished:
            # The final state carries every result (and creates the run when it was not created yet):
            # its waiters get the final's outcome.
            target = next(o for o in batch if o.kind == "final" and o.run is op.run)
            target.futures.extend(op.futures)
            continue
        previous = out[-1] if out else None
        if previous and op.kind == "update" and previous.kind == "update" and previous.run is op.run:
            previous.drift = op.drift  # the newer snapshot has every earlier result too
            previous.paths = tuple(dict.fromkeys(previous.paths + op.paths))
            previous.futures.extend(op.futures)
            continue
        out.append(op)
    return out


_LIVE: weakref.WeakSet[Sender] = weakref.WeakSet()


def flush_all(timeout: float | None = None) -> bool:
    """Wait until every live sender has handled what it was given; False if a timeout came first."""
    return all([sender.flush(timeout) for sender in list(_LIVE)])


@atexit.register
def _flush_at_exit() -> None:
    """Give queued runs a bounded chance to arrive before the interpreter exits; what does not stays in
    the spool for the next run or `drift-monitor sync`."""
    flush_all()
