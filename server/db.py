"""The database connection and the bounded thread pool MongoEngine/PyMongo calls run in.

PyMongo is synchronous; running it on the event loop would stall every stream, so all database work
goes through Database.run, whose pool size bounds the load a server process puts on the database.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import ParamSpec, TypeVar

import mongoengine
from pymongo.errors import DuplicateKeyError, OperationFailure

from server import ferretdb_indexes, metrics
from server.models import ensure_indexes

log = logging.getLogger(__name__)
# How soon a collection created after start-up gets FerretDB's GIN indexes (ferretdb_indexes.py).
FERRETDB_INDEX_CHECK_SECONDS = 10.0

P = ParamSpec("P")
R = TypeVar("R")


class Database:
    def __init__(self, uri: str, threads: int, ferretdb_postgresql_url: str = "") -> None:
        self._uri = uri
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="db")
        self._ferretdb_postgresql_url = ferretdb_postgresql_url
        self._closing = threading.Event()

    def connect(self) -> None:
        """Blocking: connect, check the server answers, create the declared indexes (and on FerretDB the
        GIN indexes it needs, kept up for collections created later)."""
        mongoengine.connect(host=self._uri, tz_aware=True, uuidRepresentation="standard", serverSelectionTimeoutMS=10_000)
        mongoengine.get_db().command("ping")
        ensure_indexes()
        keeper = ferretdb_indexes.setup(mongoengine.get_db(), self._ferretdb_postgresql_url)
        if keeper is not None:
            threading.Thread(target=self._keep, args=(keeper,), name="ferretdb-indexes", daemon=True).start()

    def _keep(self, keeper: ferretdb_indexes.FerretIndexes) -> None:
        while not self._closing.wait(FERRETDB_INDEX_CHECK_SECONDS):
            try:
                keeper.ensure()
            except Exception as exc:  # noqa: BLE001 - a missing index costs speed, never a request
                log.warning("FerretDB index check failed, retrying: %s", exc)

    async def run(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, metrics.timed(fn, functools.partial(fn, *args, **kwargs)))

    def close(self) -> None:
        self._closing.set()
        self._executor.shutdown(wait=True)
        mongoengine.disconnect()


def now() -> datetime:
    """The current time at the millisecond precision MongoDB stores, so what we return is what we kept."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def is_duplicate(exc: Exception) -> bool:
    """A unique index refused a write. FerretDB v1 reports it from findAndModify as a generic
    InternalError (code 1) quoting PostgreSQL's unique violation, not as 11000, so both forms count."""
    if isinstance(exc, DuplicateKeyError):
        return True
    return isinstance(exc, OperationFailure) and "duplicate key value violates unique constraint" in str(exc)
