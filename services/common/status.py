"""The one mapping from domain errors to gRPC status, applied to every call by an interceptor.
Envoy's transcoder (convert_grpc_status) turns the status and its details into HTTP + JSON."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import asyncpg
import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from services.common import errors

log = logging.getLogger(__name__)

_CODES: dict[type[errors.DomainError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.Aborted: grpc.StatusCode.ABORTED,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}


def error_for_code(code: int, message: str) -> errors.DomainError:
    """The domain error for a stored gRPC status code (e.g. a replayed idempotent outcome)."""
    for cls, status_code in _CODES.items():
        if status_code.value[0] == code:
            if cls is errors.InvalidArgument:
                return errors.InvalidArgument.field("request", message)
            return cls(message)
    return errors.FailedPrecondition(message)


def status_for(exc: errors.DomainError) -> grpc.Status:
    code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), grpc.StatusCode.UNKNOWN)
    status = status_pb2.Status(code=code.value[0], message=exc.message)
    if isinstance(exc, errors.InvalidArgument):
        detail = any_pb2.Any()
        detail.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=v.field, description=v.description
                    )
                    for v in exc.violations
                ]
            )
        )
        status.details.append(detail)
    return rpc_status.to_status(status)


def _internal_status(reference: str) -> grpc.Status:
    return rpc_status.to_status(
        status_pb2.Status(
            code=code_pb2.INTERNAL,
            message=f"internal error; quote reference {reference} when reporting it",
        )
    )


_UNAVAILABLE_ERRORS = (
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.TooManyConnectionsError,
    ConnectionError,
    TimeoutError,
)


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    """Turns DomainError into its status with a message a person can act on; anything else is
    logged with its stack trace and reaches the caller only as INTERNAL with a reference."""

    def __init__(self) -> None:
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        method = handler_call_details.method
        wrapped = self._wrapped.get(method)
        if wrapped is None:
            wrapped = self._wrapped[method] = _with_error_mapping(method, handler)
        return wrapped


def _with_error_mapping(method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    inner = handler.unary_unary

    async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await inner(request, context)
        except errors.DomainError as exc:
            status = status_for(exc)
        except _UNAVAILABLE_ERRORS:
            log.warning("dependency unavailable in %s", method, exc_info=True)
            status = status_for(errors.Unavailable("temporarily unavailable; retry shortly"))
        except (grpc.aio.AbortError, grpc.RpcError):
            raise
        except Exception:
            reference = uuid.uuid4().hex[:12]
            log.exception("unhandled error in %s (reference %s)", method, reference)
            status = _internal_status(reference)
        await context.abort(status.code, status.details, status.trailing_metadata)

    return grpc.unary_unary_rpc_method_handler(
        call,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
