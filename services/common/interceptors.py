"""The one way a server interceptor wraps unary calls.

Every interceptor of ours (tenant, error mapping, telemetry) does the same dance: resolve the
handler, skip what it does not apply to, wrap the unary behaviour once per method and cache the
wrapped handler so a call costs no extra allocation. `UnaryInterceptor` does the dance; a
subclass says only what it skips and how it wraps."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import grpc

Behaviour = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]


class UnaryInterceptor(grpc.aio.ServerInterceptor):
    """Wraps the unary-unary methods of every service except those whose full method name
    starts with one of `skip` (e.g. "/grpc.health.v1.Health/")."""

    def __init__(self, skip: Iterable[str] = ()) -> None:
        self._skip = tuple(skip)
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or handler.unary_unary is None or method.startswith(self._skip):
            return handler
        wrapped = self._wrapped.get(method)
        if wrapped is None:
            wrapped = self._wrapped[method] = grpc.unary_unary_rpc_method_handler(
                self.wrap(method, handler.unary_unary),
                request_deserializer=self.deserializer(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        return wrapped

    def deserializer(self, inner: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
        """The request deserializer for the wrapped handler; built once per method."""
        return inner

    @abstractmethod
    def wrap(self, method: str, inner: Behaviour) -> Behaviour:
        """The behaviour that replaces `inner` for `method`; built once per method."""


def metadata_values(context: grpc.aio.ServicerContext, key: str) -> list[str]:
    """Every value the caller sent for the (lower-case) metadata key."""
    return [v for k, v in context.invocation_metadata() or () if k == key]
