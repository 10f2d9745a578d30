"""Requests that do not parse are the caller's mistake: INVALID_ARGUMENT, not grpc's UNKNOWN.

grpc calls a method's request deserializer before any servicer code runs, and a DecodeError there (a
string field holding invalid UTF-8, as REST query strings can carry through Envoy's transcoder, or
nesting deeper than protobuf's parse limit) ends the call with UNKNOWN ("Unexpected DecodeError"), a
500 over REST. This interceptor lets the deserializer hand the failure on, and the method refuse it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from server.errors import invalid


OWN = "/drift_monitoring.v1."


class _Undecodable:
    def __init__(self, error: DecodeError) -> None:
        self.error = error


def _lenient(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserialize is None:
        return None

    def parse(data: bytes) -> Any:
        try:
            return deserialize(data)
        except DecodeError as error:
            return _Undecodable(error)

    return parse


def _refusal(error: DecodeError) -> grpc.Status:
    # The message names no field: protobuf does not say which one (its text mentions the type at most).
    reason = str(error).split(": ", 1)[-1] or "malformed"
    return invalid("request", f"could not be parsed ({reason}); strings must be valid UTF-8").to_status()


class RefuseUndecodable(grpc.aio.ServerInterceptor):
    async def intercept_service(self, continuation, handler_call_details):  # type: ignore[no-untyped-def]
        handler = await continuation(handler_call_details)
        # Our own services only: health and reflection have their own (coroutine-style) streaming handlers.
        if handler is None or handler.request_streaming or not handler_call_details.method.startswith(OWN):
            return handler
        if handler.unary_stream and not inspect.isasyncgenfunction(handler.unary_stream):
            return handler
        kwargs = {"request_deserializer": _lenient(handler.request_deserializer), "response_serializer": handler.response_serializer}
        if handler.unary_stream:
            stream = handler.unary_stream

            async def guarded_stream(request, context):  # type: ignore[no-untyped-def]
                if isinstance(request, _Undecodable):
                    await context.abort_with_status(_refusal(request.error))
                async for item in stream(request, context):
                    yield item

            return grpc.unary_stream_rpc_method_handler(guarded_stream, **kwargs)
        unary = handler.unary_unary

        async def guarded(request, context):  # type: ignore[no-untyped-def]
            if isinstance(request, _Undecodable):
                await context.abort_with_status(_refusal(request.error))
            return await unary(request, context)

        return grpc.unary_unary_rpc_method_handler(guarded, **kwargs)
