"""The merchant's customer operations: list, read with recent orders, update, erase.

Erasing serves a privacy request: in one transaction the customer loses every personal field
(its totals stay), its orders lose their email and addresses (amounts, lines and refunds stay),
the checkouts that placed them lose the request's email and addresses and store the erased
order as their replayed answer, sent mails lose their recipient and webhook payloads their
email; an audit event and customers/redact are written with it. Its sessions end once that
has committed. What stays elsewhere: published outbox rows until the relay prunes them."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import asyncpg

from services.checkout.customers import orders_repository as customer_orders
from services.checkout.customers import repository as customers
from services.checkout.customers.page_rules import decode, encode, page_size
from services.checkout.customers.rules import (
    RECENT_ORDERS,
    Customer,
    CustomerChange,
    CustomerQuery,
    email_key,
    validate_query,
)
from services.checkout.customers.sessions import SessionStore
from services.checkout.orders import repository as orders
from services.checkout.orders.rules import Order
from services.common import outbox
from services.common.db import tenant_transaction
from services.common.ids import parse_uuid
from services.common.tenancy import require_store_id

DEFAULT_PAGE = 50
MAX_PAGE = 250
ERASED = "customer.erased"

# (the order, its checkout id) → the checkout's stored response for that order.
ResponseEncoder = Callable[[Order, str], bytes]


class CustomerAdmin:
    def __init__(
        self, pool: asyncpg.Pool, sessions: SessionStore, encode_response: ResponseEncoder
    ) -> None:
        self._pool = pool
        self._sessions = sessions
        self._encode = encode_response

    async def page(self, query: CustomerQuery) -> tuple[list[Customer], str]:
        size = page_size(query.page_size, DEFAULT_PAGE, MAX_PAGE)
        text = validate_query(query.query)
        criteria = {"query": text.lower()}
        after = decode(query.page_token, query.sort, criteria) if query.page_token else None
        store_id = require_store_id()
        async with tenant_transaction(self._pool, readonly=True) as conn:
            found = await customers.page(
                conn, store_id, size=size, query=text, sort=query.sort, after=after
            )
        token = ""
        if len(found) > size:
            found = found[:size]
            key, last = customers.position_of(found[-1], query.sort)
            token = encode(query.sort, criteria, key, last)
        return found, token

    async def get(self, customer_id: str) -> tuple[Customer, list[Order]]:
        cid = parse_uuid(customer_id, "id")
        store_id = require_store_id()
        async with tenant_transaction(self._pool, readonly=True) as conn:
            customer = await customers.get(conn, store_id, cid)
            recent = await customer_orders.orders_of(conn, store_id, cid, RECENT_ORDERS)
        return customer, recent

    async def update(self, customer_id: str, change: CustomerChange) -> Customer:
        cid = parse_uuid(customer_id, "id")
        store_id = require_store_id()
        async with tenant_transaction(self._pool) as conn:
            current = await customers.get(conn, store_id, cid, lock=True)
            if current.erased:
                return current
            if not await customers.update(conn, store_id, cid, change):
                return current
            return await customers.emit(
                conn, store_id, cid, "updated", f"customer-updated:{uuid.uuid4()}"
            )

    async def erase(self, customer_id: str, trace_id: str | None = None) -> Customer:
        cid = parse_uuid(customer_id, "id")
        store_id = require_store_id()
        async with tenant_transaction(self._pool) as conn:
            before = await customers.get(conn, store_id, cid)
            if before.erased:
                return before
            # Orders before the customer: the lock order refunds use too.
            order_ids = await customer_orders.erase_from_orders(conn, store_id, cid)
            customer = await customers.get(conn, store_id, cid, lock=True)
            responses = {}
            for checkout_id, order_id in await customer_orders.completed_checkouts(
                conn, store_id, order_ids
            ):
                order = await orders.load(conn, store_id, order_id)
                responses[checkout_id] = self._encode(order, str(checkout_id))
            key = email_key(customer.email or "")
            checkouts = await customer_orders.erase_from_checkouts(conn, store_id, key, responses)
            await customer_orders.erase_from_deliveries(conn, store_id, key, cid)
            await customers.erase(conn, store_id, cid)
            await customers.audit(
                conn,
                store_id,
                ERASED,
                f"customer:{cid}",
                "admin_api",
                {
                    "orders_redacted": len(order_ids),
                    "checkouts_redacted": checkouts,
                    "trace_id": trace_id,
                },
            )
            await outbox.record(
                conn,
                outbox.customer_event(
                    "redact",
                    {
                        "customer_id": str(cid),
                        "orders_to_redact": [str(o) for o in order_ids],
                    },
                    f"customer-redact:{cid}",
                ),
            )
            erased = await customers.get(conn, store_id, cid)
        await self._sessions.end_all(store_id, str(cid))
        return erased
