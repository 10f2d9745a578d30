"""API errors: one exception type that services raise, turned into a gRPC status in one place.

Every refusal carries a canonical code, a short actionable message, a google.rpc.ErrorInfo
(reason in UPPER_SNAKE, domain "drift-monitoring") and, for INVALID_ARGUMENT, a google.rpc.BadRequest
naming the offending field.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

DOMAIN = "drift-monitoring"


class ApiError(Exception):
    def __init__(self, code: grpc.StatusCode, reason: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.field = field

    def to_status(self) -> grpc.Status:
        details = [error_details_pb2.ErrorInfo(reason=self.reason, domain=DOMAIN)]
        if self.field is not None:
            violation = error_details_pb2.BadRequest.FieldViolation(field=self.field, description=self.message)
            details.append(error_details_pb2.BadRequest(field_violations=[violation]))
        packed = []
        for detail in details:
            item = any_pb2.Any()
            item.Pack(detail)
            packed.append(item)
        status = status_pb2.Status(code=self.code.value[0], message=self.message, details=packed)
        return rpc_status.to_status(status)


def invalid(field: str, problem: str) -> ApiError:
    """INVALID_ARGUMENT; the message starts with the field so it reads well anywhere it is shown."""
    return ApiError(grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", f"{field}: {problem}", field)


def out_of_range(field: str, problem: str) -> ApiError:
    """OUT_OF_RANGE: the request was fine once but the data it points into is gone; resync, do not fix it."""
    return ApiError(grpc.StatusCode.OUT_OF_RANGE, f"{field.upper()}_EXPIRED", f"{field}: {problem}")


def not_found(what: str) -> ApiError:
    return ApiError(grpc.StatusCode.NOT_FOUND, f"{what.upper()}_NOT_FOUND", f"{what} not found")


def permission_denied(needed: str) -> ApiError:
    return ApiError(grpc.StatusCode.PERMISSION_DENIED, "ACCESS_DENIED", f"this needs {needed} access")


def unauthenticated(message: str) -> ApiError:
    return ApiError(grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED", message)


def not_registered() -> ApiError:
    return ApiError(
        grpc.StatusCode.FAILED_PRECONDITION,
        "USER_NOT_REGISTERED",
        "register first: call UserService.RegisterUser with accept_terms=true",
    )


def already_exists(what: str, field: str) -> ApiError:
    return ApiError(grpc.StatusCode.ALREADY_EXISTS, f"{what.upper()}_ALREADY_EXISTS", f"{field} is already taken")


assert code_pb2.INVALID_ARGUMENT == grpc.StatusCode.INVALID_ARGUMENT.value[0]  # the two enums agree
