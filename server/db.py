"""The database connection and the bounded thread pool MongoEngine/PyMongo calls run in.

PyMongo is synchronous; running it on the event loop would stall every stream, so all database work
goes through Database.run, whose pool size bounds the load a server process puts on the database.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import ParamSpec, TypeVar

import mongoengine
from pymongo.errors import DuplicateKeyError, OperationFailure

from server import metrics
from server.models import ensure_indexes

P = ParamSpec("P")
R = TypeVar("R")


class Database:
    def __init__(self, uri: str, threads: int) -> None:
        self._uri = uri
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="db")

    def connect(self) -> None:
        """Blocking: connect, check the server answers, create the declared indexes."""
        mongoengine.connect(host=self._uri, tz_aware=True, uuidRepresentation="standard", serverSelectionTimeoutMS=10_000)
        mongoengine.get_db().command("ping")
        ensure_indexes()

    async def run(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, metrics.timed(fn, functools.partial(fn, *args, **kwargs)))

    def close(self) -> None:
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
