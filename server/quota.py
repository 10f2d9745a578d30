"""Bounds on what one caller may hold open at a time in this server process."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import grpc

from server.errors import ApiError


class StreamQuota:
    """At most `limit` open streams per key (a user id, or an anonymous caller's address). One event
    loop touches the counts, so no lock; a stream's slot is freed however it ends."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: Counter[str] = Counter()

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        if self.open[key] >= self.limit:
            raise ApiError(grpc.StatusCode.RESOURCE_EXHAUSTED, "TOO_MANY_STREAMS",
                           f"at most {self.limit} open WatchDrifts streams per user; close one before opening another")
        self.open[key] += 1
        try:
            yield
        finally:
            self.open[key] -= 1
            if not self.open[key]:
                del self.open[key]
