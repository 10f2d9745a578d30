"""UserService: registration (terms of use) and the profile kept from the caller's token claims."""

from __future__ import annotations

from typing import Any

import grpc
from pymongo import ReturnDocument

from drift_monitoring.v1 import user_pb2, user_pb2_grpc
from server.convert import user_to_proto
from server.db import now
from server.errors import ApiError, invalid, not_registered, permission_denied, unauthenticated
from server.filtering import FieldSpec
from server.identity import Caller, asserted, is_admin
from server.listing import ListSpec, Ordering
from server.models import USER_ORDER_FIELDS, User, conform
from server.services.common import Deps, compile_user_filter, unary

FILTER_FIELDS = {
    "name": FieldSpec("name", "string"),
    "email": FieldSpec("email", "string"),
    "issuer": FieldSpec("issuer", "string"),
    "subject": FieldSpec("subject", "string"),
    "entitlements": FieldSpec("entitlements", "string_list"),
    "create_time": FieldSpec("create_time", "time"),
}
LISTING = ListSpec(User._get_collection, USER_ORDER_FIELDS, Ordering("create_time", descending=False), 100, str)


def _collection() -> Any:
    return User._get_collection()


def _claims(caller: Caller) -> dict[str, Any]:
    return {
        "issuer": caller.issuer,
        "subject": caller.subject,
        "name": caller.name,
        "email": caller.email,
        "entitlements": sorted(caller.entitlements),
        "update_time": now(),
    }


class UserService(user_pb2_grpc.UserServiceServicer):
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def _signed_in(self, context: grpc.aio.ServicerContext) -> Caller:
        caller = await self.deps.caller(context)
        if caller.user_id is None:
            raise unauthenticated("sign in first: this call needs a token")
        return caller

    def _user(self, doc: dict[str, Any]) -> user_pb2.User:
        held = asserted(doc.get("issuer", ""), doc.get("entitlements") or (), self.deps.settings)
        return user_to_proto(doc, admin=is_admin(held, self.deps.settings))

    @unary
    async def RegisterUser(self, request: user_pb2.RegisterUserRequest, context: grpc.aio.ServicerContext) -> user_pb2.User:
        caller = await self._signed_in(context)
        if not request.accept_terms:
            raise invalid("accept_terms", "must be true: registering means accepting the terms of use")
        moment = now()
        claims = _claims(caller)
        conform(User, {"_id": caller.user_id, **claims, "create_time": moment, "terms_accept_time": moment})
        doc = await self.deps.db.run(
            _collection().find_one_and_update,
            {"_id": caller.user_id},
            {"$set": claims, "$setOnInsert": {"create_time": moment, "terms_accept_time": moment}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        self.deps.registered.add(caller.user_id or "")
        return self._user(doc)

    @unary
    async def GetCurrentUser(self, request: user_pb2.GetCurrentUserRequest, context: grpc.aio.ServicerContext) -> user_pb2.User:
        caller = await self._signed_in(context)
        doc = await self.deps.db.run(_collection().find_one, {"_id": caller.user_id})
        if doc is None:
            raise ApiError(grpc.StatusCode.NOT_FOUND, "USER_NOT_REGISTERED", "not registered yet: call RegisterUser")
        return self._user(doc)

    @unary
    async def UpdateCurrentUser(self, request: user_pb2.UpdateCurrentUserRequest, context: grpc.aio.ServicerContext) -> user_pb2.User:
        caller = await self._signed_in(context)
        claims = _claims(caller)
        conform(User, claims, partial=True)
        doc = await self.deps.db.run(
            _collection().find_one_and_update,
            {"_id": caller.user_id},
            {"$set": claims},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            raise not_registered()
        return self._user(doc)

    @unary
    async def ListUsers(self, request: user_pb2.ListUsersRequest, context: grpc.aio.ServicerContext) -> user_pb2.ListUsersResponse:
        caller = await self._signed_in(context)
        if not caller.admin:
            raise permission_denied("admin")
        query = compile_user_filter(request.filter, FILTER_FIELDS)
        docs, next_token = await self.deps.list_page(LISTING, request, query, scope="users")
        return user_pb2.ListUsersResponse(users=[self._user(doc) for doc in docs], next_page_token=next_token)
