"""Background housekeeping of one server process: expiring old audit entries, and old runs of experiments
with retention limits (server/retention.py). Every step deletes in bounded batches by _id, so any number of server
processes may sweep the same database at once: a document two of them pick is deleted once."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from server import audit, retention
from server.db import Database
from server.events import EventLog

log = logging.getLogger(__name__)


class Sweeper:
    def __init__(self, db: Database, interval: float, audit_retention_days: int, events: EventLog | None = None) -> None:
        self.db, self.interval, self.audit_retention_days, self.events = db, interval, audit_retention_days, events
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="sweeper")

    async def sweep(self) -> None:
        removed = await self.db.run(audit.expire, self.audit_retention_days)
        if removed:
            log.info("audit: removed %d entries older than %d days", removed, self.audit_retention_days)
        if self.events is not None:
            await self.db.run(retention.sweep, self.events)

    async def _loop(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:  # noqa: BLE001 - a failed sweep (database away) is retried next round
                log.warning("sweep failed; retrying in %.0f s", self.interval, exc_info=True)
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
