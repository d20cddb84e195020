"""The one mapping from domain errors to gRPC status, applied to every call by an interceptor.
Envoy's transcoder (convert_grpc_status) turns the status and its details into HTTP + JSON."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from services.common import decoding, errors
from services.common.db import is_connection_loss
from services.common.interceptors import Behaviour, UnaryInterceptor

log = logging.getLogger(__name__)

_BY_VALUE = {code.value[0]: code for code in grpc.StatusCode}


def grpc_code(exc: errors.DomainError) -> grpc.StatusCode:
    return _BY_VALUE.get(exc.code, grpc.StatusCode.UNKNOWN)


def status_for(exc: errors.DomainError) -> grpc.Status:
    status = status_pb2.Status(code=grpc_code(exc).value[0], message=exc.message)
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
    if isinstance(exc, errors.ResourceExhausted) and exc.retry_after is not None:
        detail = any_pb2.Any()
        detail.Pack(
            error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=exc.retry_after))
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


class ErrorInterceptor(UnaryInterceptor):
    """Turns DomainError into its status with a message a person can act on; anything else is
    logged with its stack trace and reaches the caller only as INTERNAL with a reference."""

    def deserializer(self, inner: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
        # Undecodable requests and NUL in strings: INVALID_ARGUMENT naming the field (below),
        # never grpc's own "Unexpected <class ...>".
        return decoding.guarded(inner) if inner is not None else None

    def wrap(self, method: str, inner: Behaviour) -> Behaviour:
        async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if isinstance(request, decoding.Undecodable):
                status = status_for(errors.InvalidArgument(request.violations))
                await context.abort(status.code, status.details, status.trailing_metadata)
            try:
                return await inner(request, context)
            except errors.DomainError as exc:
                status = status_for(exc)
            except (grpc.aio.AbortError, grpc.RpcError):
                raise
            except Exception as exc:
                if is_connection_loss(exc):
                    log.warning("dependency unavailable in %s", method, exc_info=True)
                    status = status_for(
                        errors.Unavailable("temporarily unavailable; retry shortly")
                    )
                else:
                    reference = uuid.uuid4().hex[:12]
                    log.exception("unhandled error in %s (reference %s)", method, reference)
                    status = _internal_status(reference)
            await context.abort(status.code, status.details, status.trailing_metadata)

        return call
