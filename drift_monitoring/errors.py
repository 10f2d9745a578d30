"""Exceptions of the Drift Monitoring client. gRPC errors are translated here, and only here.

    DriftMonitorError
    ├── ConfigurationError        a setting is missing or wrong (no network involved)
    ├── AuthenticationError       no valid credentials (UNAUTHENTICATED, MyToken refused)
    ├── PermissionDeniedError     signed in, but not allowed (PERMISSION_DENIED)
    ├── NotFoundError             no such experiment or drift, or no access to it (NOT_FOUND)
    ├── AlreadyExistsError        ALREADY_EXISTS
    ├── InvalidArgumentError      the server refused the input; .field names what to fix
    ├── NotRegisteredError        register() first (FAILED_PRECONDITION USER_NOT_REGISTERED)
    ├── OutOfRangeError           a watch's resume token is older than the server keeps: list again, watch from now
    └── UnavailableError          the server could not be reached or is overloaded (retryable)
"""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

__all__ = [
    "AlreadyExistsError",
    "AuthenticationError",
    "ConfigurationError",
    "DriftMonitorError",
    "InvalidArgumentError",
    "NotFoundError",
    "NotRegisteredError",
    "OutOfRangeError",
    "PermissionDeniedError",
    "UnavailableError",
]


class DriftMonitorError(Exception):
    """Root of every error this package raises."""


class ConfigurationError(DriftMonitorError):
    pass


class AuthenticationError(DriftMonitorError):
    pass


class PermissionDeniedError(DriftMonitorError):
    pass


class NotFoundError(DriftMonitorError):
    pass


class AlreadyExistsError(DriftMonitorError):
    pass


class InvalidArgumentError(DriftMonitorError):
    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class NotRegisteredError(DriftMonitorError):
    pass


class OutOfRangeError(DriftMonitorError):
    """OUT_OF_RANGE: what the request points into is gone (a resume token older than the retained event
    log). Retrying the same request never helps; start over from the present state."""


class UnavailableError(DriftMonitorError):
    pass


RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED})


def from_rpc_error(error: grpc.RpcError) -> DriftMonitorError:
    code, message = error.code(), error.details() or ""
    reason, field = "", ""
    status = rpc_status.from_call(error) if hasattr(error, "trailing_metadata") else None
    for detail in status.details if status else ():
        info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
        if detail.Unpack(info):
            reason = info.reason
        elif detail.Unpack(bad) and bad.field_violations:
            field = bad.field_violations[0].field
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgumentError(message, field)
    if code == grpc.StatusCode.FAILED_PRECONDITION and reason == "USER_NOT_REGISTERED":
        return NotRegisteredError(message)
    kinds: dict[grpc.StatusCode, type[DriftMonitorError]] = {
        grpc.StatusCode.UNAUTHENTICATED: AuthenticationError,
        grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
        grpc.StatusCode.NOT_FOUND: NotFoundError,
        grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
        grpc.StatusCode.OUT_OF_RANGE: OutOfRangeError,
        **dict.fromkeys(RETRYABLE, UnavailableError),
    }
    return kinds.get(code, DriftMonitorError)(f"{code.name}: {message}" if code not in kinds else message)
