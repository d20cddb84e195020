"""Merchant order operations: read, list, cancel (full refund + restock), refund (partial)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.checkout.orders import repository as orders
from services.checkout.payments.accounts import account_in
from services.checkout.payments.rules import PaymentGateway, PaymentUnavailable
from services.common import cursor, outbox
from services.common.db import tenant_transaction
from services.common.errors import FailedPrecondition, InvalidArgument, Unavailable
from services.common.ids import parse_uuid
from services.common.inventory_events import move_stock
from services.common.tenancy import require_store_id

MAX_PAGE = 250
STATUSES = ("paid", "partially_refunded", "refunded", "cancelled")


@dataclass(frozen=True)
class OrderQuery:
    page_size: int
    page_token: str
    status: str
    created_after: datetime | None
    created_before: datetime | None


@dataclass(frozen=True)
class RefundRequest:
    order_id: str
    # (variant id, quantity) of the lines refunded; empty: an amount only.
    lines: Sequence[tuple[str, int]]
    # 0: the lines' value, or everything not yet refunded when no lines are named.
    amount: int
    restock: bool


class OrderAdmin:
    def __init__(self, pool: asyncpg.Pool, gateway: PaymentGateway) -> None:
        self._pool = pool
        self._gateway = gateway

    async def get(self, order_id: str) -> orders.Order:
        oid = parse_uuid(order_id, "id")
        store_id = require_store_id()
        async with tenant_transaction(self._pool, readonly=True) as conn:
            return await orders.load(conn, store_id, oid)

    async def list(self, query: OrderQuery) -> tuple[list[orders.Order], str]:
        size = cursor.page_size(query.page_size, 50, MAX_PAGE)
        if query.status and query.status not in STATUSES:
            raise InvalidArgument.field("status", f"must be one of {list(STATUSES)}")
        store_id = require_store_id()
        async with tenant_transaction(self._pool, readonly=True) as conn:
            return await orders.page(
                conn,
                store_id,
                size,
                query.page_token,
                query.status,
                query.created_after,
                query.created_before,
            )

    async def cancel(self, order_id: str, restock: bool) -> orders.Order:
        oid = parse_uuid(order_id, "id")
        order = await self.get(order_id)
        if order.status == "cancelled":
            return order
        remaining = order.total - order.refunded
        lines = {line.variant_id: line.quantity - line.refunded_quantity for line in order.lines}
        return await self._refund(
            oid,
            order,
            remaining,
            lines if restock else {},
            final_status="cancelled",
            key=f"cancel:{oid}",
            refunded_lines=lines,
        )

    async def refund(self, request: RefundRequest) -> orders.Order:
        oid = parse_uuid(request.order_id, "id")
        order = await self.get(request.order_id)
        if order.status in ("cancelled", "refunded"):
            raise FailedPrecondition(f"order is {order.status}; nothing left to refund")
        by_variant = {line.variant_id: line for line in order.lines}
        lines: dict[str, int] = {}
        for i, (variant_id, quantity) in enumerate(request.lines):
            item = by_variant.get(variant_id)
            if item is None:
                raise InvalidArgument.field(f"lines[{i}].variant_id", "is not in this order")
            if not 1 <= quantity <= item.quantity - item.refunded_quantity:
                raise InvalidArgument.field(
                    f"lines[{i}].quantity",
                    f"must be 1 to {item.quantity - item.refunded_quantity} (not yet refunded)",
                )
            lines[variant_id] = quantity
        amount = request.amount or (
            sum(by_variant[v].unit_price * q for v, q in lines.items())
            if lines
            else order.total - order.refunded
        )
        if not 0 < amount <= order.total - order.refunded:
            raise InvalidArgument.field(
                "amount_minor", f"must be 1 to {order.total - order.refunded} (not yet refunded)"
            )
        return await self._refund(
            oid,
            order,
            amount,
            lines if request.restock else {},
            final_status=None,
            key=f"refund:{oid}:{order.refunded}:{amount}",
            refunded_lines=lines,
        )

    async def _refund(
        self,
        oid: uuid.UUID,
        order: orders.Order,
        amount: int,
        restock: dict[str, int],
        *,
        final_status: str | None,
        key: str,
        refunded_lines: dict[str, int] | None = None,
    ) -> orders.Order:
        store_id = require_store_id()
        async with tenant_transaction(self._pool, readonly=True) as conn:
            account = await account_in(conn, store_id) or ""
        if amount > 0:
            try:
                # Stripe first: the idempotency key makes a retried call refund once.
                await self._gateway.refund(
                    account, order.payment_intent_id, amount, f"shop:{store_id}:{key}"
                )
            except PaymentUnavailable as exc:
                raise Unavailable("the payment provider did not answer; retry") from exc
        async with tenant_transaction(self._pool) as conn:
            current = await orders.load(conn, store_id, oid)
            if current.refunded != order.refunded:
                return current  # a concurrent identical call already recorded it
            refunded = order.refunded + amount
            status = final_status or (
                "refunded" if refunded == order.total else "partially_refunded"
            )
            await conn.execute(
                """UPDATE orders SET refunded = $3, status = $4, updated_at = clock_timestamp()
                   WHERE store_id = $1 AND id = $2""",
                store_id,
                oid,
                refunded,
                status,
            )
            for variant_id, quantity in (refunded_lines or restock).items():
                await conn.execute(
                    """UPDATE order_items SET refunded_quantity = refunded_quantity + $4
                       WHERE store_id = $1 AND order_id = $2 AND variant_id = $3::uuid""",
                    store_id,
                    oid,
                    variant_id,
                    quantity,
                )
            if restock:
                await move_stock(
                    conn, store_id, "restocked", {uuid.UUID(v): q for v, q in restock.items()}
                )
            action = "cancelled" if final_status == "cancelled" else "refunded"
            updated = await orders.load(conn, store_id, oid)
            await outbox.record(
                conn,
                outbox.order_event(
                    action,
                    {**orders.order_event_data(updated), "refunded_minor": amount},
                    f"order-{action}:{oid}:{refunded}",
                ),
            )
            return updated
