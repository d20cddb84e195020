"""gRPC entrypoint of the operator API (shop.platform.v1.Operations): thin. The caller is
resolved again from its credential here (ext_authz already checked it at the edge), so the
audit trail names the operator from the credential itself, not from a header."""

from __future__ import annotations

from shop.platform.v1 import operations_pb2, operations_pb2_grpc

from services.common.errors import Unauthenticated
from services.common.ids import parse_uuid
from services.store.edge.authz import bearer_token
from services.store.operators.messages import (
    audit_event,
    request_dict,
    status_filter,
    store_record,
)
from services.store.operators.operations import Operations
from services.store.operators.resolver import OperatorResolver
from services.store.operators.rules import (
    AuditQuery,
    Operator,
    StoreQuery,
    page_size,
    parse_store_id,
    validate_store_query,
)


class OperationsServicer(operations_pb2_grpc.OperationsServicer):
    def __init__(self, operations: Operations, resolver: OperatorResolver) -> None:
        self._ops = operations
        self._resolver = resolver

    async def _operator(self, context) -> Operator:
        metadata = dict(context.invocation_metadata() or ())
        token = bearer_token(metadata.get("authorization", ""))
        operator = await self._resolver.resolve(token) if token else None
        if operator is None:
            raise Unauthenticated("operator credential is missing, invalid, expired or revoked")
        return operator

    async def GetStore(self, request, context):
        store = await self._ops.get_store(
            await self._operator(context),
            request_dict(request),
            lambda: parse_store_id(request.store_id),
        )
        return store_record(store)

    async def ListStores(self, request, context):
        def parse() -> StoreQuery:
            return validate_store_query(
                size=request.page_size,
                token=request.page_token,
                subdomain_prefix=request.subdomain_prefix,
                domain=request.domain,
                owner_email=request.owner_email,
                status=status_filter(request.status),
                plan=request.plan,
            )

        stores, token = await self._ops.list_stores(
            await self._operator(context), request_dict(request), parse
        )
        return operations_pb2.ListStoresResponse(
            stores=[store_record(s) for s in stores], next_page_token=token
        )

    async def ChangePlan(self, request, context):
        store = await self._ops.change_plan(
            await self._operator(context),
            request_dict(request),
            lambda: parse_store_id(request.store_id),
            request.plan,
            request.reason,
        )
        return store_record(store)

    async def SuspendStore(self, request, context):
        store = await self._ops.suspend(
            await self._operator(context),
            request_dict(request),
            lambda: parse_store_id(request.store_id),
            request.reason,
        )
        return store_record(store)

    async def ReinstateStore(self, request, context):
        store = await self._ops.reinstate(
            await self._operator(context),
            request_dict(request),
            lambda: parse_store_id(request.store_id),
            request.reason,
        )
        return store_record(store)

    async def CloseStore(self, request, context):
        store = await self._ops.close(
            await self._operator(context),
            request_dict(request),
            lambda: parse_store_id(request.store_id),
            request.reason,
        )
        return store_record(store)

    async def ListAuditEvents(self, request, context):
        def parse() -> AuditQuery:
            return AuditQuery(
                page_size=page_size(request.page_size),
                page_token=request.page_token,
                store_id=parse_store_id(request.store_id) if request.store_id else None,
                operator_id=(
                    parse_uuid(request.operator_id, "operator_id") if request.operator_id else None
                ),
            )

        events, token = await self._ops.audit_events(
            await self._operator(context), request_dict(request), parse
        )
        return operations_pb2.ListAuditEventsResponse(
            events=[audit_event(e) for e in events], next_page_token=token
        )
