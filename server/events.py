"""The event log behind WatchDrifts, and this process's fan-out of it to watchers.

Every change appends an event whose `seq` is one more than the highest stored seq, under a unique
index. A writer can only take seq N+1 after it has seen N stored, so the log has no gaps and a
reader that has everything up to N and asks for `seq > N` never skips an event, whichever process
wrote it. There are no transactions on FerretDB v1, so the data write and its event are two writes;
a striped lock per drift keeps one drift's events in the order of its writes within a process.

Fan-out: this process's own events go from memory to each watcher's bounded queue, in seq order;
events of other processes (a gap in the seqs) are read from the database by a tailer that polls while
anyone watches, backing off when a read is slow (FerretDB scans the whole log for every query). A
watcher whose queue overflows is not waited for: it is flagged and catches up from the database.

Retention: events older than the newest `retention` are deleted now and then, a whole block at a time; the
highest pruned seq is recorded, so resuming from before it is refused instead of silently skipping events.

Blocks: every event carries `block` = seq // BLOCK, and every read names its blocks by equality (the
tail, a watcher's catch-up with its experiment, pruning), so a read costs the blocks it touches, not the
log: FerretDB v1 pushes such equalities down to its GIN indexes and never a range or a sort. The head is
kept in the `event_log_meta` document `head` ($max after each append) and made exact by reading the
blocks from there on, never by sorting the log.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING
from pymongo.errors import BulkWriteError, PyMongoError

from server import metrics
from server.db import Database, now
from server.models import Event

log = logging.getLogger(__name__)

CREATED, UPDATED, DELETED, EXPERIMENT_DELETED, HEARTBEAT = "CREATED", "UPDATED", "DELETED", "EXPERIMENT_DELETED", "HEARTBEAT"
# A deleted experiment's older event, blanked (forget): it keeps its seq and goes to nobody.
FORGOTTEN = "FORGOTTEN"
# Who may read the experiment changed (public flag, grants): open streams re-check their caller (never sent).
EXPERIMENT_ACCESS = "EXPERIMENT_ACCESS"
READ_BATCH = 500
BLOCK = 100  # events per block (see the module docstring)
LOCK_STRIPES = 64
PRUNE_EVERY = 1000  # appends between retention passes
MAX_PENDING = 10_000  # out-of-order local events held back while a gap is being read


class PositionError(Exception):
    """A resume position the log cannot continue from."""


class PositionPruned(PositionError):
    """A resume position older than the retained log: the client must resync (OUT_OF_RANGE), not retry."""


class ShuttingDown(Exception):
    """The server is stopping; watchers should resume elsewhere from their last token."""


@dataclass(frozen=True)
class LogEvent:
    seq: int
    type: str
    experiment: ObjectId | None = None
    drift: Mapping[str, Any] = field(default_factory=dict)
    time: datetime | None = None

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> LogEvent:
        return cls(doc["seq"], doc["type"], doc["experiment"], doc.get("drift") or {}, doc["time"])


class _Subscription:
    def __init__(self, size: int) -> None:
        self.queue: asyncio.Queue[LogEvent] = asyncio.Queue(size)
        self.overflowed = False
        self.closed = False

    def offer(self, event: LogEvent) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True  # the watcher re-reads from the database; nobody waits for it
            log.info("a watcher fell %d events behind; it catches up from the event log", self.queue.maxsize)

    def rearm(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()
        self.overflowed = False

    def close(self) -> None:
        self.rearm()
        self.closed = True
        self.queue.put_nowait(LogEvent(0, HEARTBEAT))  # wakes a watcher blocked on get()


class EventLog:
    def __init__(self, db: Database, poll_seconds: float, queue_size: int, retention: int = 100_000) -> None:
        self._db = db
        self._poll = poll_seconds
        self._queue_size = queue_size
        self._retention = retention
        self._collection = Event._get_collection
        self._seq_lock = threading.Lock()
        self._last_seq = 0  # highest seq known to exist; guarded by _seq_lock
        self._appended = 0  # guarded by _seq_lock; drives retention passes
        self._pending: dict[int, LogEvent] = {}  # local events beyond a gap, by seq
        self._stripes = [threading.Lock() for _ in range(LOCK_STRIPES)]
        self._subscribers: dict[ObjectId, set[_Subscription]] = {}
        self._position = 0  # highest seq offered to subscribers
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tailer: asyncio.Task[None] | None = None
        self._closing = False
        self._listeners: list[Callable[[list[LogEvent]], None]] = []

    def add_listener(self, listener: Callable[[list[LogEvent]], None]) -> None:
        """Called on the loop with every batch of events this process appends (the alert evaluator): it
        must be quick and never touch the database."""
        self._listeners.append(listener)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._db.run(self.backfill)
        self._position = self._last_seq = await self._db.run(self.head)
        # Scrapes run on another thread: list() copies the dict's values in one step under the GIL.
        metrics.watch_event_log(lambda: sum(map(len, list(self._subscribers.values()))), lambda: self._position)
        self._tailer = asyncio.create_task(self._tail(), name="event-log-tailer")

    def close_watchers(self) -> None:
        """Ends every watch stream with ShuttingDown (the first step of a graceful stop)."""
        self._closing = True
        for subscriptions in self._subscribers.values():
            for subscription in subscriptions:
                subscription.close()

    async def stop(self) -> None:
        if self._tailer is not None:
            self._tailer.cancel()
            await asyncio.gather(self._tailer, return_exceptions=True)

    # -- writing (blocking; called from the database pool) -------------------------------------------

    @contextmanager
    def drift_lock(self, drift_id: ObjectId) -> Iterator[None]:
        with self._stripes[zlib.crc32(drift_id.binary) % LOCK_STRIPES]:
            yield

    def stripes_of(self, drift_ids: list[ObjectId]) -> list[threading.Lock]:
        """The drift locks of many drifts, each once, in a fixed order (take them in this order)."""
        return [self._stripes[i] for i in sorted({zlib.crc32(d.binary) % LOCK_STRIPES for d in drift_ids})]

    def append(self, experiment: ObjectId, type_: str, drift: Mapping[str, Any]) -> int:
        return self.append_many(experiment, type_, [drift])

    def append_many(self, experiment: ObjectId, type_: str, drifts: list[Mapping[str, Any]]) -> int:
        """Append one event per drift with consecutive seqs; returns the last seq."""
        moment = now()
        # drift_id at the top level: an equality FerretDB pushes down and an index serves (a retried
        # create asks whether its CREATED event exists; "drift._id" would scan the log).
        pending = [{"experiment": experiment, "type": type_, "drift_id": d.get("_id"), "drift": dict(d), "time": moment} for d in drifts]
        stored: list[dict[str, Any]] = []
        with self._seq_lock:
            seq = self._last_seq
            while pending:
                docs = [{**doc, "seq": seq + 1 + i, "block": (seq + 1 + i) // BLOCK} for i, doc in enumerate(pending)]
                try:
                    self._collection().insert_many(docs, ordered=True)
                    stored += docs
                    seq += len(docs)
                    pending = []
                except BulkWriteError as exc:  # another process took a seq: keep what landed, go on after the head
                    if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                        raise
                    landed = exc.details.get("nInserted", 0)
                    stored += docs[:landed]
                    pending = pending[landed:]
                    seq = self.head()
            self._last_seq = seq
            self._meta().update_one({"_id": "head"}, {"$max": {"seq": seq}}, upsert=True)
            self._appended += len(stored)
            prune = self._appended >= PRUNE_EVERY
            if prune:
                self._appended = 0
        metrics.drifts_written(experiment, type_, drifts)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._publish, [LogEvent.from_doc(doc) for doc in stored])
        if prune:
            self.prune(seq)
        return seq

    def forget(self, experiment: ObjectId, before: int) -> None:
        """Blank a deleted experiment's events before seq `before` (its EXPERIMENT_DELETED event): they keep
        their seqs, so the log stays gap-free for every reader, but no longer name it or hold its drifts."""
        self._collection().update_many(
            {"experiment": experiment, "seq": {"$lt": before}},
            {"$set": {"experiment": None, "type": FORGOTTEN, "drift": {}, "drift_id": None}},
        )

    def prune(self, head: int) -> None:
        """Delete the whole blocks older than the newest `retention`, recording the highest seq deleted first."""
        upto = (head - self._retention + 1) // BLOCK * BLOCK - 1  # the last seq of the last whole block to go
        done = self.pruned()
        if upto <= done:
            return
        self._meta().update_one({"_id": "pruned"}, {"$max": {"seq": upto}}, upsert=True)
        for block in range((done + 1) // BLOCK, (upto + 1) // BLOCK):
            self._collection().delete_many({"block": block})

    def pruned(self) -> int:
        doc = self._meta().find_one({"_id": "pruned"})
        return int(doc["seq"]) if doc else 0

    def _meta(self) -> Any:
        return self._collection().database["event_log_meta"]

    def backfill(self) -> None:
        """Once per database: blocks for events stored before they existed, and the head document."""
        if self._meta().find_one({"_id": "blocks"}) is not None:
            return
        head = 0
        if self._collection().estimated_document_count():
            for doc in self._collection().find({"block": {"$exists": False}}, {"seq": 1}):
                self._collection().update_one({"_id": doc["_id"]}, {"$set": {"block": doc["seq"] // BLOCK}})
                head = max(head, doc["seq"])
        self._meta().update_one({"_id": "head"}, {"$max": {"seq": head}}, upsert=True)
        self._meta().update_one({"_id": "blocks"}, {"$set": {"done": True}}, upsert=True)

    def head(self) -> int:
        """The highest stored seq: the head document, then the blocks from there on (it may lag a crash)."""
        doc = self._meta().find_one({"_id": "head"})
        head = int(doc["seq"]) if doc else 0
        while True:
            seqs = [d["seq"] for d in self._collection().find({"block": (head + 1) // BLOCK}, {"seq": 1}) if d["seq"] > head]
            if not seqs:
                return head
            head = max(seqs)

    def _read_after(self, seq: int, experiment: ObjectId | None, limit: int, upto: int | None = None) -> list[LogEvent]:
        """Events after seq (of one experiment, or all), in order, at most limit, block by block: all events
        stop at the first block that is not full (the log has no gaps); one experiment's at `upto`'s block."""
        found: list[LogEvent] = []
        block = (seq + 1) // BLOCK
        while len(found) < limit and (upto is None or block <= upto // BLOCK):
            query: dict[str, Any] = {"block": block, "seq": {"$gt": seq}}
            if experiment is not None:
                query["experiment"] = experiment
            docs = list(self._collection().find(query).sort("seq", ASCENDING).limit(limit - len(found)))
            found += [LogEvent.from_doc(doc) for doc in docs]
            if experiment is None and (not docs or docs[-1]["seq"] < (block + 1) * BLOCK - 1):
                break
            block += 1
        return found

    # -- fan-out ----------------------------------------------------------------------------------

    def _publish(self, events: list[LogEvent]) -> None:
        """This process's new events (on the loop): offered at once when they continue the position;
        beyond a gap (another process wrote in between) they wait for the tailer to read the gap."""
        for listener in self._listeners:
            try:
                listener(events)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop the watchers' fan-out
                log.exception("event listener failed")
        if not self._subscribers:
            # Nobody to feed: just move on. A watcher starting later catches up from the database.
            self._pending.clear()
            self._position = max([self._position, *(event.seq for event in events)])
            return
        for event in events:
            if event.seq > self._position:
                self._pending[event.seq] = event
        self._drain()
        if len(self._pending) > MAX_PENDING:
            self._pending.clear()  # the tailer reads them back from the database

    def _drain(self) -> None:
        while (event := self._pending.pop(self._position + 1, None)) is not None:
            self._offer(event)

    def _offer(self, event: LogEvent) -> None:
        for subscription in self._subscribers.get(event.experiment, ()):
            subscription.offer(event)
        self._position = event.seq
        metrics.delivered((event.time,))

    async def _tail(self) -> None:
        interval = self._poll
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            except TimeoutError:
                pass
            self._wake.clear()
            if not self._subscribers:
                continue  # nobody to feed
            started = time.monotonic()
            try:
                batch = await self._db.run(self._read_after, self._position, None, READ_BATCH)
            except PyMongoError as exc:
                log.warning("event log tail failed, retrying: %s", exc)
                await asyncio.sleep(self._poll)
                continue
            # A slow read (a scanning database) must not keep it busy: poll at most a quarter of the time.
            interval = max(self._poll, 3 * (time.monotonic() - started))
            for event in batch:
                if event.seq > self._position:
                    self._offer(event)
            self._pending = {seq: event for seq, event in self._pending.items() if seq > self._position}
            self._drain()
            if len(batch) == READ_BATCH:
                self._wake.set()

    async def watch(self, experiment: ObjectId, after: int | None, heartbeat: float) -> AsyncIterator[LogEvent]:
        """Events of one experiment with seq > after (or from now), then live; heartbeats when idle."""
        if self._closing:
            raise ShuttingDown
        subscription = _Subscription(self._queue_size)
        self._subscribers.setdefault(experiment, set()).add(subscription)
        try:
            # "Now" is what this process knows: no database round trip per new watcher (a thousand
            # watchers must not mean a thousand scans of the log). Other processes' newer events reach
            # the stream through the tailer.
            known = max(self._position, self._last_seq)
            if after is None:
                after = known
            elif after > known and after > await self._db.run(self.head):
                raise PositionError("is ahead of the event log; start again without it")
            elif after < known and after < await self._db.run(self.pruned):
                raise PositionPruned("is older than the event log keeps; list the drifts again and watch from now")
            last = after
            while True:
                subscription.rearm()
                while last < self._position:  # catch up from the database; the queue has what comes after
                    if subscription.closed:
                        raise ShuttingDown
                    batch = await self._db.run(self._read_after, last, experiment, READ_BATCH, self._position)
                    for event in batch:
                        yield event
                        last = event.seq
                    if len(batch) < READ_BATCH:
                        break
                while not subscription.overflowed:  # live
                    try:
                        event = await asyncio.wait_for(subscription.queue.get(), timeout=heartbeat)
                    except TimeoutError:
                        if subscription.queue.empty() and not subscription.overflowed:
                            # Everything up to the tailer's position has been offered to us and taken.
                            last = max(last, self._position)
                            yield LogEvent(last, HEARTBEAT, experiment, time=now())
                        continue
                    if subscription.closed:
                        raise ShuttingDown
                    if event.seq > last:
                        yield event
                        last = event.seq
        finally:
            subscribers = self._subscribers.get(experiment)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscribers[experiment]
