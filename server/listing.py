"""List pages: order_by parsing, page sizes and keyset (cursor) pagination.

A page token records the sort value and _id of the last item returned, signed and bound to the
request's scope, filter and order_by. The next page asks for items strictly after that key, so
inserts while paging never cause duplicates or skip items that existed when paging started, and
deep pages cost the same as the first (an index seek, not a skip).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo.collection import Collection

from server.errors import invalid
from server.pagetokens import PageTokenError, decode_page_token, encode_page_token

MAX_PAGE_SIZE = 1000
# A page with a server-side check (element_match.py) reads the database in chunks and stops after this many
# drifts: a page may then hold fewer than page_size (AIP-158 allows it) with a token to go on from there.
CHECK_CHUNK = 200
MAX_EXAMINED = 5000
# A walk fetches a page its own way (ordinals.page): (collection, query, after, want) -> documents.
Walk = Callable[[Collection[Any], dict[str, Any], "tuple[Any, Any] | None", int], list[Mapping[str, Any]]]


def conjoin(*conditions: Mapping[str, Any]) -> dict[str, Any]:
    """The conjunction of conditions, every plain field condition a top-level key (FerretDB v1 pushes down
    only top-level equalities; nested under `$and` they scan); the rest, and repeated fields, under `$and`."""
    top: dict[str, Any] = {}
    rest: list[dict[str, Any]] = []

    def add(condition: Mapping[str, Any]) -> None:
        for key, value in condition.items():
            if key == "$and":
                for part in value:
                    add(part)
            elif key.startswith("$") or key in top:
                rest.append({key: value})
            else:
                top[key] = value

    for condition in conditions:
        add(condition)
    if rest:
        top["$and"] = rest
    return top


@dataclass(frozen=True)
class Ordering:
    field: str
    descending: bool

    @property
    def sort(self) -> list[tuple[str, int]]:
        direction = -1 if self.descending else 1
        return [(self.field, direction), ("_id", direction)]


def parse_order_by(text: str, allowed: Sequence[str], default: Ordering) -> Ordering:
    parts = text.split()
    if not parts:
        return default
    if len(parts) > 2 or parts[0] not in allowed or (len(parts) == 2 and parts[1].lower() not in ("asc", "desc")):
        raise invalid("order_by", f"use one of {', '.join(allowed)}, optionally followed by ' desc' or ' asc'")
    return Ordering(parts[0], len(parts) == 2 and parts[1].lower() == "desc")


def page_size(requested: int, default: int) -> int:
    if requested < 0:
        raise invalid("page_size", "must not be negative")
    return min(requested or default, MAX_PAGE_SIZE)


@dataclass(frozen=True)
class PageRequest:
    """One list call, fully validated; fetch() is blocking and runs in the database pool."""

    collection: Collection[Any]
    query: dict[str, Any]
    ordering: Ordering
    size: int
    secret: bytes
    binding: str
    after: tuple[Any, Any] | None
    to_id: Callable[[str], Any]
    walk: Walk | None = None
    keep: Callable[[Mapping[str, Any]], bool] | None = None  # the part of the filter checked here, not in the database

    def _read(self, after: tuple[Any, Any] | None, want: int) -> list[Mapping[str, Any]]:
        if self.walk is not None:
            return self.walk(self.collection, self.query, after, want)
        cursor: dict[str, Any] = {}
        if after is not None:
            value, last_id = after
            beyond = "$lt" if self.ordering.descending else "$gt"
            cursor = {"$or": [{self.ordering.field: {beyond: value}}, {self.ordering.field: value, "_id": {beyond: last_id}}]}
        return list(self.collection.find(conjoin(self.query, cursor)).sort(self.ordering.sort).limit(want))

    def _token(self, last: Mapping[str, Any]) -> str:
        return encode_page_token(self.secret, {"b": self.binding, "v": last.get(self.ordering.field), "id": str(last["_id"])})

    def fetch(self) -> tuple[list[Mapping[str, Any]], str]:
        if self.keep is not None:
            return self._fetch_checked(self.keep)
        docs = self._read(self.after, self.size + 1)
        if len(docs) <= self.size:
            return docs, ""
        docs = docs[: self.size]
        return docs, self._token(docs[-1])

    def _fetch_checked(self, keep: Callable[[Mapping[str, Any]], bool]) -> tuple[list[Mapping[str, Any]], str]:
        """Chunks in order until size + 1 drifts pass `keep`, the end, or MAX_EXAMINED read (then a token
        after the last one read, so the next page goes on from there)."""
        kept: list[Mapping[str, Any]] = []
        after, examined = self.after, 0
        while examined < MAX_EXAMINED:
            chunk = self._read(after, CHECK_CHUNK)
            for doc in chunk:
                examined += 1
                if keep(doc):
                    kept.append(doc)
                    if len(kept) > self.size:
                        return kept[: self.size], self._token(kept[self.size - 1])
            if len(chunk) < CHECK_CHUNK:
                return kept, ""
            after = (chunk[-1].get(self.ordering.field), chunk[-1]["_id"])
        return kept, self._token(chunk[-1])


def page_request(
    collection: Collection[Any],
    query: dict[str, Any],
    *,
    ordering: Ordering,
    size: int,
    token: str,
    secret: bytes,
    scope: str,
    filter_text: str,
    to_id: Callable[[str], Any],
    walk: Walk | None = None,
    keep: Callable[[Mapping[str, Any]], bool] | None = None,
) -> PageRequest:
    binding = hashlib.sha256(f"{scope}\0{filter_text}\0{ordering}".encode()).hexdigest()[:24]
    after = None
    if token:
        try:
            payload = decode_page_token(secret, token, expect={"b": binding})
            after = (payload["v"], to_id(payload["id"]))
        except PageTokenError as exc:
            raise invalid("page_token", str(exc)) from None
        except (KeyError, ValueError, TypeError):
            raise invalid("page_token", "is malformed; start again without a page_token") from None
    return PageRequest(collection, query, ordering, size, secret, binding, after, to_id, walk, keep)


@dataclass(frozen=True)
class ListSpec:
    """How one resource is listed: where it lives, what it sorts by, and its page size default."""

    collection: Callable[[], Collection[Any]]
    order_fields: Sequence[str]
    default_order: Ordering
    default_size: int
    to_id: Callable[[str], Any]
    # How the default order is fetched when it is not one find (drifts: ordinals.page, by bucket).
    default_walk: Walk | None = None

    def page(
        self, request: Any, query: dict[str, Any], *, secret: bytes, scope: str, keep: Callable[[Mapping[str, Any]], bool] | None = None
    ) -> PageRequest:
        """A validated page of a List request (fields page_size, page_token, filter, order_by)."""
        ordering = parse_order_by(request.order_by, self.order_fields, self.default_order)
        return page_request(
            self.collection(),
            query,
            ordering=ordering,
            size=page_size(request.page_size, self.default_size),
            token=request.page_token,
            secret=secret,
            scope=scope,
            filter_text=request.filter,
            to_id=self.to_id,
            walk=self.default_walk if ordering == self.default_order and not request.order_by.strip() else None,
            keep=keep,
        )
