"""What every servicer shares: its dependencies, the caller, ids, and error translation in one place."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from bson import ObjectId
from bson.errors import InvalidId
from pymongo.errors import ConnectionFailure, PyMongoError

from server.db import Database
from server.errors import ApiError, invalid, not_registered, unauthenticated
from server.events import EventLog, ShuttingDown
from server.listing import ListSpec
from server.filtering import ElementList, FieldSpec, FilterError, compile_filter
from server.identity import Caller, caller_from_metadata, entitlements_from, with_entitlements
from server.models import User
from server.settings import Settings
from server.userinfo import UserInfo

log = logging.getLogger(__name__)

Request = TypeVar("Request")
Response = TypeVar("Response")


@dataclass
class Deps:
    settings: Settings
    db: Database
    events: EventLog
    userinfo: UserInfo
    # Users seen registered; registration is never undone, so a hit needs no database round trip.
    registered: set[str] = field(default_factory=set)

    async def caller(self, context: grpc.aio.ServicerContext) -> Caller:
        caller = caller_from_metadata(context.invocation_metadata() or (), self.settings)
        if caller.user_id is not None and not caller.has_entitlements_claim:
            claims = await self.userinfo.claims(caller.issuer, caller.authorization, caller.expires, caller.subject)
            caller = with_entitlements(caller, entitlements_from(claims, self.settings), self.settings)
        return caller

    async def list_page(
        self, spec: ListSpec, request: Any, query: dict[str, Any], scope: str, keep: Callable[[Any], bool] | None = None
    ) -> tuple[list[Any], str]:
        page = spec.page(request, query, secret=self.settings.token_secret, scope=scope, keep=keep)
        return await self.db.run(page.fetch)

    async def writer(self, context: grpc.aio.ServicerContext) -> Caller:
        """The caller, who must be signed in and registered to change anything."""
        caller = await self.caller(context)
        if caller.user_id is None:
            raise unauthenticated("sign in to make changes")
        if caller.user_id not in self.registered:
            found = await self.db.run(User._get_collection().count_documents, {"_id": caller.user_id}, limit=1)
            if not found:
                raise not_registered()
            self.registered.add(caller.user_id)
        return caller


def object_id(field_name: str, value: str) -> ObjectId:
    if not value:
        raise invalid(field_name, "is required")
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        raise invalid(field_name, "is not a valid id") from None


def compile_user_filter(
    text: str, fields: dict[str, FieldSpec], prefixes: dict[str, str] | None = None, lists: dict[str, ElementList] | None = None
) -> dict[str, Any]:
    try:
        return compile_filter(text, fields, prefixes or {}, lists or {})
    except FilterError as exc:
        raise invalid("filter", str(exc)) from None


def _translate(exc: Exception) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ShuttingDown):
        return ApiError(grpc.StatusCode.UNAVAILABLE, "SHUTTING_DOWN", "server is shutting down; retry or resume")
    if isinstance(exc, ConnectionFailure):
        log.warning("database unavailable: %s", exc)
        return ApiError(grpc.StatusCode.UNAVAILABLE, "DATABASE_UNAVAILABLE", "database unavailable; retry later")
    if isinstance(exc, PyMongoError):
        log.exception("database error")
        return ApiError(grpc.StatusCode.INTERNAL, "DATABASE_ERROR", "database error")
    log.exception("unexpected error")
    return ApiError(grpc.StatusCode.INTERNAL, "INTERNAL", "internal error")


def unary(
    method: Callable[[Any, Request, grpc.aio.ServicerContext], Awaitable[Response]],
) -> Callable[[Any, Request, grpc.aio.ServicerContext], Awaitable[Response]]:
    @functools.wraps(method)
    async def wrapper(self: Any, request: Request, context: grpc.aio.ServicerContext) -> Response:
        try:
            return await method(self, request, context)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status here and only here
            await context.abort_with_status(_translate(exc).to_status())
            raise AssertionError("unreachable: abort_with_status raises") from exc

    return wrapper


def streaming(
    method: Callable[[Any, Request, grpc.aio.ServicerContext], AsyncIterator[Response]],
) -> Callable[[Any, Request, grpc.aio.ServicerContext], AsyncIterator[Response]]:
    @functools.wraps(method)
    async def wrapper(self: Any, request: Request, context: grpc.aio.ServicerContext) -> AsyncIterator[Response]:
        try:
            async for item in method(self, request, context):
                yield item
        except Exception as exc:  # noqa: BLE001
            await context.abort_with_status(_translate(exc).to_status())

    return wrapper
