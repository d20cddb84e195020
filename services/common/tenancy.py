"""The current store of a request. Envoy sets the trusted `x-store-id` per virtual host; the
interceptor moves it into a ContextVar that every tenant transaction reads — only when the call
came from the edge over mutual TLS (services.common.edge_trust): anyone else who can reach the
port could otherwise name any store."""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

import grpc

from services.common.edge_trust import EdgeTrust
from services.common.errors import Unauthenticated
from services.common.interceptors import Behaviour, UnaryInterceptor, metadata_values

STORE_ID_HEADER = "x-store-id"
_MAX_STORE_ID = 2**63 - 1

current_store_id: ContextVar[int | None] = ContextVar("current_store_id", default=None)


def require_store_id() -> int:
    """The store of the current request; fails closed when there is none."""
    store_id = current_store_id.get()
    if store_id is None:
        raise Unauthenticated("no store for this request: call it through the store's host")
    return store_id


def parse_store_id(values: list[str]) -> int:
    if not values:
        raise Unauthenticated("no store for this request: call it through the store's host")
    if len(values) > 1:
        raise Unauthenticated("ambiguous store for this request")
    raw = values[0]
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= _MAX_STORE_ID:
        raise Unauthenticated("malformed store id")
    return int(raw)


class TenantInterceptor(UnaryInterceptor):
    """Sets `current_store_id` for every call except the services named in `exempt` (the public
    platform API, health, reflection, Envoy's xDS and ext_authz), which run without a store.
    A tenant call from any peer but the edge is UNAUTHENTICATED, whatever headers it carries."""

    def __init__(self, exempt_services: Iterable[str], trust: EdgeTrust) -> None:
        super().__init__(skip=[f"/{name}/" for name in exempt_services])
        self._trust = trust

    def wrap(self, method: str, inner: Behaviour) -> Behaviour:
        trust = self._trust

        async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if not trust.is_edge(context):
                await context.abort(
                    grpc.StatusCode.UNAUTHENTICATED, trust.refusal(context, STORE_ID_HEADER)
                )
            try:
                store_id = parse_store_id(metadata_values(context, STORE_ID_HEADER))
            except Unauthenticated as exc:
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, exc.message)
            token = current_store_id.set(store_id)
            try:
                return await inner(request, context)
            finally:
                current_store_id.reset(token)

        return call
