"""Merchant order operations: read, list, cancel (full refund + restock), refund (partial).

A refund is made on Stripe first (idempotency key derived from the order), then recorded with
the order's other refunds (orders.refunds): the refund row, the refunded amount and status,
the lines refunded and restocked (once per Stripe refund), and order.refunded or
order.cancelled in the same transaction."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.checkout.checkout.totals_rules import line_refund_value
from services.checkout.orders import repository as orders
from services.checkout.orders.refund_rules import refund_metadata
from services.checkout.orders.refunds import AdminAction, Refunds
from services.checkout.payments.accounts import account_in
from services.checkout.payments.rules import (
    PaymentGateway,
    PaymentRefused,
    PaymentUnavailable,
    Refund,
)
from services.common import cursor
from services.common.db import tenant_transaction
from services.common.errors import FailedPrecondition, InvalidArgument, Unavailable
from services.common.ids import parse_uuid
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
    def __init__(self, pool: asyncpg.Pool, gateway: PaymentGateway, refunds: Refunds) -> None:
        self._pool = pool
        self._gateway = gateway
        self._refunds = refunds

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
            order,
            remaining,
            lines,
            restock=lines if restock else {},
            cancellation=True,
            key=f"cancel:{oid}",
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
        # A line's value includes its share of the line's tax when the tax was added on top
        # (cumulative, so refunding every unit returns exactly the tax it was charged).
        amount = request.amount or (
            sum(
                line_refund_value(
                    by_variant[v].unit_price,
                    by_variant[v].quantity,
                    by_variant[v].tax,
                    by_variant[v].refunded_quantity,
                    q,
                    order.prices_include_tax,
                )
                for v, q in lines.items()
            )
            if lines
            else order.total - order.refunded
        )
        if not 0 < amount <= order.total - order.refunded:
            raise InvalidArgument.field(
                "amount_minor", f"must be 1 to {order.total - order.refunded} (not yet refunded)"
            )
        return await self._refund(
            order,
            amount,
            lines,
            restock=lines if request.restock else {},
            cancellation=False,
            # The admin API's refunds so far, not the refunded amount (which Stripe-side
            # refunds and failures move): a retry after a lost answer repeats the key and
            # Stripe replays the refund; a deliberate second refund gets a new key.
            key=f"refund:{oid}:n{order.admin_refunds}:{amount}",
        )

    async def _refund(
        self,
        order: orders.Order,
        amount: int,
        lines: dict[str, int],
        *,
        restock: dict[str, int],
        cancellation: bool,
        key: str,
    ) -> orders.Order:
        store_id = require_store_id()
        account = order.payment_account
        if not account:
            async with tenant_transaction(self._pool, readonly=True) as conn:
                account = await account_in(conn, store_id) or ""
        made: Refund | None = None
        if amount > 0:
            try:
                # Stripe first: the idempotency key makes a retried call refund once.
                made = await self._gateway.refund(
                    account,
                    order.payment_intent_id,
                    amount,
                    f"shop:{store_id}:{key}",
                    refund_metadata(store_id, str(order.id), cancellation=cancellation),
                )
            except PaymentUnavailable as exc:
                raise Unavailable("the payment provider did not answer; retry") from exc
            except PaymentRefused as exc:
                if exc.shopper_fixable:
                    # Stripe knows refunds (or a dispute) the order may not have heard of yet:
                    # bring it up to date, so the merchant's next look is right.
                    with contextlib.suppress(PaymentUnavailable):
                        await self._refunds.sync(store_id, account, order.payment_intent_id)
                    raise FailedPrecondition(exc.message) from exc
                raise FailedPrecondition(
                    f"the payment provider refused the refund (reference {exc.reference})"
                ) from exc
        action = AdminAction(
            key=made.id if made else key,
            refund=made,
            cancellation=cancellation,
            refunded_lines=lines,
            restock=restock,
        )
        updated = await self._refunds.sync(store_id, account, order.payment_intent_id, admin=action)
        return updated or order
