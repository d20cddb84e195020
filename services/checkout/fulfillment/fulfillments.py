"""Fulfillment use cases (OrdersAdmin): ship lines with tracking, change the tracking, cancel a
fulfillment, list an order's. Each runs in one tenant transaction under the order's row lock
and writes its events to the outbox in that transaction: fulfillment.created,
fulfillment.updated, and order.fulfilled when the last unit ships (the shipping email and the
merchant's webhooks come from those)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg

from services.checkout.fulfillment import repository as repo
from services.checkout.fulfillment.rules import (
    Tracking,
    fulfillment_status,
    to_ship,
    validate_tracking,
)
from services.checkout.orders import repository as orders
from services.checkout.orders.rules import Order
from services.common import outbox
from services.common.db import tenant_transaction
from services.common.errors import FailedPrecondition
from services.common.ids import parse_uuid
from services.common.tenancy import require_store_id


def _event(kind: str, data: dict[str, Any], key: str) -> outbox.Event:
    """On the orders exchange, so the email, webhook and analytics queues all get it."""
    return outbox.Event(
        type=kind, exchange=outbox.ORDERS_EXCHANGE, routing_key=kind, data=data, key=key
    )


def _data(order: Order, fulfillment: repo.Fulfillment) -> dict[str, Any]:
    return {
        "order_id": str(order.id),
        "order_number": order.number,
        "email": order.email,
        "fulfillment_id": str(fulfillment.id),
        "status": fulfillment.status,
        "fulfillment_status": order.fulfillment_status,
        "notify_customer": fulfillment.notify_customer,
        "tracking_company": fulfillment.tracking.company,
        "tracking_number": fulfillment.tracking.number,
        "tracking_url": fulfillment.tracking.url,
        "lines": [{"variant_id": v, "quantity": q} for v, q in fulfillment.lines],
        "titles": {line.variant_id: line.title for line in order.lines},
    }


class Fulfillments:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def _settle(
        self, conn: asyncpg.Connection, store_id: int, order_id: uuid.UUID
    ) -> tuple[Order, str]:
        """The order's fulfillment_status from its lines; (order, status before)."""
        order = await orders.load(conn, store_id, order_id)
        status = fulfillment_status(order.lines)
        before = order.fulfillment_status
        if status != before:
            await repo.set_order_status(conn, store_id, order_id, status)
            order = await orders.load(conn, store_id, order_id)
        return order, before

    async def create(
        self,
        raw_order_id: str,
        lines: Sequence[tuple[str, int]],
        tracking: Tracking,
        notify_customer: bool,
    ) -> repo.Fulfillment:
        order_id = parse_uuid(raw_order_id, "order_id")
        tracking = validate_tracking(tracking)
        store_id = require_store_id()
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            await repo.lock_order(conn, store_id, order_id)
            order = await orders.load(conn, store_id, order_id)
            plan = to_ship(order.status, order.lines, lines)
            fid = await repo.insert(conn, store_id, order_id, plan, tracking, notify_customer)
            order, before = await self._settle(conn, store_id, order_id)
            made = await repo.load(conn, store_id, order_id, fid)
            events = [
                _event("fulfillment.created", _data(order, made), f"fulfillment-created:{fid}")
            ]
            if order.fulfillment_status == "fulfilled" and before != "fulfilled":
                events.append(
                    outbox.order_event(
                        "fulfilled",
                        {**orders.order_event_data(order), "fulfillment_id": str(fid)},
                        f"order-fulfilled:{order_id}:{fid}",
                    )
                )
            await outbox.record(conn, *events)
        return made

    async def update_tracking(
        self, raw_order_id: str, raw_id: str, tracking: Tracking, notify_customer: bool
    ) -> repo.Fulfillment:
        order_id = parse_uuid(raw_order_id, "order_id")
        fid = parse_uuid(raw_id, "id")
        tracking = validate_tracking(tracking)
        store_id = require_store_id()
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            await repo.lock_order(conn, store_id, order_id)
            current = await repo.load(conn, store_id, order_id, fid, lock=True)
            if current.status == "cancelled":
                raise FailedPrecondition("this fulfillment is cancelled; its tracking is final")
            await repo.set_tracking(conn, store_id, fid, tracking, notify_customer)
            changed = await repo.load(conn, store_id, order_id, fid)
            order = await orders.load(conn, store_id, order_id)
            await outbox.record(
                conn,
                _event(
                    "fulfillment.updated",
                    _data(order, changed),
                    f"fulfillment-updated:{fid}:{changed.updated_at.isoformat()}",
                ),
            )
        return changed

    async def cancel(self, raw_order_id: str, raw_id: str) -> repo.Fulfillment:
        order_id = parse_uuid(raw_order_id, "order_id")
        fid = parse_uuid(raw_id, "id")
        store_id = require_store_id()
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            await repo.lock_order(conn, store_id, order_id)
            current = await repo.load(conn, store_id, order_id, fid, lock=True)
            if current.status == "cancelled":
                return current  # cancelling twice changes nothing
            shipped = await repo.lines_of(conn, store_id, fid)
            await repo.move_fulfilled(
                conn, store_id, order_id, {line: -q for line, q in shipped.items()}
            )
            await repo.set_status(conn, store_id, fid, "cancelled")
            order, _ = await self._settle(conn, store_id, order_id)
            cancelled = await repo.load(conn, store_id, order_id, fid)
            # Not mailed to the shopper (notify_customer off): merchants' webhooks only.
            data = {**_data(order, cancelled), "notify_customer": False}
            await outbox.record(
                conn, _event("fulfillment.updated", data, f"fulfillment-cancelled:{fid}")
            )
        return cancelled

    async def of_order(self, raw_order_id: str) -> list[repo.Fulfillment]:
        order_id = parse_uuid(raw_order_id, "order_id")
        store_id = require_store_id()
        async with tenant_transaction(self._pool, store_id=store_id, readonly=True) as conn:
            await orders.load(conn, store_id, order_id)  # NOT_FOUND for another store's
            return await repo.of_order(conn, store_id, order_id)
