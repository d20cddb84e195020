"""Who is calling: the edge (Envoy) or someone else.

The headers Envoy sets for the services — `x-store-id` (the store of the virtual host), the
`x-forwarded-for` entry it appends, and, on ext_authz calls, `x-shop-check` — mean something only
when Envoy sent them. Envoy connects to every service over mutual TLS with a client certificate
whose subject alternative name is the edge identity (a SPIFFE-style URI); any other client
(an operator's grpcurl, a test) holds a certificate of the same CA with another identity. The
peer's identity comes from the TLS handshake (grpc's auth context), never from metadata, so no
header can claim it."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

import grpc

from services.common.interceptors import Behaviour


def peer_identities(context: grpc.aio.ServicerContext) -> list[str]:
    """The subject alternative names of the caller's verified certificate; empty without one."""
    return [raw.decode(errors="replace") for raw in context.peer_identities() or ()]


class EdgeTrust:
    """Decides whether a call came from the edge. `identity` None: no peer is trusted (the server
    runs without TLS, so nothing on the connection can prove it is Envoy — fail closed)."""

    def __init__(self, identity: str | None) -> None:
        self._identity = identity.encode() if identity else None

    @property
    def enabled(self) -> bool:
        return self._identity is not None

    def is_edge(self, context: grpc.aio.ServicerContext) -> bool:
        if self._identity is None:
            return False
        return self._identity in (context.peer_identities() or ())

    def refusal(self, context: grpc.aio.ServicerContext, what: str) -> str:
        """A message that says what is refused, why, and which identity the caller presented."""
        if self._identity is None:
            return (
                f"{what} is accepted only from the edge over mutual TLS, and this server has no"
                " TLS configured (TLS_CERT_FILE, TLS_KEY_FILE, TLS_CA_FILE): call it through"
                " Envoy"
            )
        presented = ", ".join(peer_identities(context)) or "no client certificate"
        return (
            f"{what} is accepted only from the edge ({self._identity.decode()}); this connection"
            f" presented {presented}: call it through Envoy (the store's host)"
        )


StreamBehaviour = Callable[[Any, grpc.aio.ServicerContext], Any]


class EdgeOnlyInterceptor(grpc.aio.ServerInterceptor):
    """Services only Envoy calls (xDS, ext_authz): every other caller is UNAUTHENTICATED, for
    unary and streaming methods alike. xDS would hand anyone every store's domains and ids;
    ext_authz would be an oracle for admin tokens."""

    def __init__(self, services: Iterable[str], trust: EdgeTrust) -> None:
        self._prefixes = tuple(f"/{name}/" for name in services)
        self._trust = trust
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or not method.startswith(self._prefixes):
            return handler
        wrapped = self._wrapped.get(method)
        if wrapped is None:
            wrapped = self._wrapped[method] = self._wrap(method, handler)
        return wrapped

    def _wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        trust = self._trust
        service = method.split("/")[1]
        codec = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary is not None:
            inner: Behaviour = handler.unary_unary

            async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
                if not trust.is_edge(context):
                    await context.abort(
                        grpc.StatusCode.UNAUTHENTICATED, trust.refusal(context, service)
                    )
                return await inner(request, context)

            return grpc.unary_unary_rpc_method_handler(unary, **codec)
        if handler.stream_stream is not None:
            stream_inner: StreamBehaviour = handler.stream_stream

            async def stream(requests: Any, context: grpc.aio.ServicerContext) -> Any:
                if not trust.is_edge(context):
                    await context.abort(
                        grpc.StatusCode.UNAUTHENTICATED, trust.refusal(context, service)
                    )
                replies = stream_inner(requests, context)
                if inspect.isasyncgen(replies):
                    async for reply in replies:
                        yield reply
                else:  # a servicer that writes with context.write() and returns
                    await replies

            return grpc.stream_stream_rpc_method_handler(stream, **codec)
        raise TypeError(f"{method}: edge-only services have unary or bidirectional methods only")
