"""Merchant order operations: read, list, cancel (full refund + restock), refund (partial)."""

from __future__ import annotations

import uuid

import asyncpg
from shop.checkout.v1 import checkout_pb2 as pb

from services.checkout import orders
from services.checkout.payments import PaymentUnavailable, StripeGateway
from services.common import outbox
from services.common.db import tenant_transaction
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from services.common.inventory_events import move_stock

MAX_PAGE = 250


def _order_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound("no order with this id in this store") from None


class OrderAdmin:
    def __init__(self, pool: asyncpg.Pool, gateway: StripeGateway) -> None:
        self._pool = pool
        self._gateway = gateway

    async def get(self, order_id: str) -> orders.Order:
        async with tenant_transaction(self._pool, readonly=True) as conn:
            return await orders.load(conn, _order_id(order_id))

    async def list(self, request: pb.ListOrdersRequest) -> tuple[list[orders.Order], str]:
        if request.page_size < 0:
            raise InvalidArgument.field("page_size", f"must be between 1 and {MAX_PAGE}")
        statuses = ("paid", "partially_refunded", "refunded", "cancelled")
        if request.status and request.status not in statuses:
            raise InvalidArgument.field("status", f"must be one of {list(statuses)}")
        after = request.created_after.ToDatetime() if request.HasField("created_after") else None
        before = request.created_before.ToDatetime() if request.HasField("created_before") else None
        async with tenant_transaction(self._pool, readonly=True) as conn:
            return await orders.page(
                conn,
                min(request.page_size or 50, MAX_PAGE),
                request.page_token,
                request.status,
                after,
                before,
            )

    async def cancel(self, order_id: str, restock: bool) -> orders.Order:
        oid = _order_id(order_id)
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

    async def refund(self, request: pb.RefundOrderRequest) -> orders.Order:
        oid = _order_id(request.id)
        order = await self.get(request.id)
        if order.status in ("cancelled", "refunded"):
            raise FailedPrecondition(f"order is {order.status}; nothing left to refund")
        by_variant = {line.variant_id: line for line in order.lines}
        lines: dict[str, int] = {}
        for i, line in enumerate(request.lines):
            item = by_variant.get(line.variant_id)
            if item is None:
                raise InvalidArgument.field(f"lines[{i}].variant_id", "is not in this order")
            if not 1 <= line.quantity <= item.quantity - item.refunded_quantity:
                raise InvalidArgument.field(
                    f"lines[{i}].quantity",
                    f"must be 1 to {item.quantity - item.refunded_quantity} (not yet refunded)",
                )
            lines[line.variant_id] = line.quantity
        amount = request.amount_minor or (
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
        async with tenant_transaction(self._pool, readonly=True) as conn:
            account = await conn.fetchval("SELECT stripe_account_id FROM stores")
            store_id = int(await conn.fetchval("SELECT current_setting('app.current_store_id')"))
        if amount > 0:
            try:
                # Stripe first: the idempotency key makes a retried call refund once.
                await self._gateway.refund(
                    account, order.payment_intent_id, amount, f"shop:{store_id}:{key}"
                )
            except PaymentUnavailable as exc:
                raise Unavailable("the payment provider did not answer; retry") from exc
        async with tenant_transaction(self._pool) as conn:
            current = await orders.load(conn, oid)
            if current.refunded != order.refunded:
                return current  # a concurrent identical call already recorded it
            refunded = order.refunded + amount
            status = final_status or (
                "refunded" if refunded == order.total else "partially_refunded"
            )
            await conn.execute(
                """UPDATE orders SET refunded = $2, status = $3, updated_at = clock_timestamp()
                   WHERE id = $1""",
                oid,
                refunded,
                status,
            )
            for variant_id, quantity in (refunded_lines or restock).items():
                await conn.execute(
                    """UPDATE order_items SET refunded_quantity = refunded_quantity + $3
                       WHERE order_id = $1 AND variant_id = $2::uuid""",
                    oid,
                    variant_id,
                    quantity,
                )
            if restock:
                await move_stock(
                    conn, store_id, "restocked", {uuid.UUID(v): q for v, q in restock.items()}
                )
            action = "cancelled" if final_status == "cancelled" else "refunded"
            updated = await orders.load(conn, oid)
            await outbox.record(
                conn,
                outbox.order_event(
                    action,
                    {**orders.order_event_data(updated), "refunded_minor": amount},
                    f"order-{action}:{oid}:{refunded}",
                ),
            )
            return updated
