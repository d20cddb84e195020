"""Writes domain events into the transactional outbox, inside the caller's tenant transaction,
so an event exists if and only if the change it describes committed. The relay
(services.events.relay) publishes the rows to RabbitMQ."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from services.common import telemetry

ORDERS_EXCHANGE = "orders.events"
INVENTORY_EXCHANGE = "inventory.events"
PAYOUTS_EXCHANGE = "payouts.events"
# The store's own life: owner email confirmations, shop/redact before an erasure.
STORE_EXCHANGE = "store.events"
CUSTOMERS_EXCHANGE = "customers.events"


@dataclass(frozen=True)
class Event:
    """One event. `key` is its idempotency key: the AMQP message_id and what consumers dedupe
    on; it must be the same if the producer retries the same change."""

    type: str
    exchange: str
    routing_key: str
    data: dict[str, Any]
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    headers: dict[str, str] = field(default_factory=dict)


def inventory_event(action: str, store_id: int, data: dict[str, Any], key: str) -> Event:
    """`inventory.{action}.{store_id}` on the inventory topic exchange."""
    return Event(
        type=f"inventory.{action}",
        exchange=INVENTORY_EXCHANGE,
        routing_key=f"inventory.{action}.{store_id}",
        data=data,
        key=key,
    )


def order_event(action: str, data: dict[str, Any], key: str) -> Event:
    return Event(
        type=f"order.{action}",
        exchange=ORDERS_EXCHANGE,
        routing_key=f"order.{action}",
        data=data,
        key=key,
    )


def payout_event(action: str, data: dict[str, Any], key: str) -> Event:
    """`payout.{action}` (paid, failed) about the store's payouts to its bank account."""
    return Event(
        type=f"payout.{action}",
        exchange=PAYOUTS_EXCHANGE,
        routing_key=f"payout.{action}",
        data=data,
        key=key,
    )


def store_event(action: str, data: dict[str, Any], key: str) -> Event:
    """`store.{action}` on the store topic exchange."""
    return Event(
        type=f"store.{action}",
        exchange=STORE_EXCHANGE,
        routing_key=f"store.{action}",
        data=data,
        key=key,
    )


def customer_event(action: str, data: dict[str, Any], key: str) -> Event:
    """`customer.{action}`: created, updated, redact (merchant webhooks) and the account mails
    (activation, account_exists, password_reset), which only the email consumer acts on."""
    return Event(
        type=f"customer.{action}",
        exchange=CUSTOMERS_EXCHANGE,
        routing_key=f"customer.{action}",
        data=data,
        key=key,
    )


# The message body every consumer receives: event, timestamp, idempotencyKey, storeId, data.
# Built in SQL so the store id is the transaction's own and no extra round trip is needed.
_INSERT = """
INSERT INTO outbox (store_id, event_type, exchange, routing_key, idempotency_key, payload, headers)
SELECT s.store_id, e.type, e.exchange, e.routing_key, e.key,
       jsonb_build_object('event', e.type, 'timestamp', to_jsonb(clock_timestamp()),
                          'idempotencyKey', e.key, 'storeId', s.store_id::text,
                          'data', e.data::jsonb),
       e.headers::jsonb
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
     AS e(type, exchange, routing_key, key, data, headers),
     (SELECT current_setting('app.current_store_id')::bigint AS store_id) s
ON CONFLICT (store_id, idempotency_key) DO NOTHING
"""


async def record(conn: asyncpg.Connection, *events: Event) -> None:
    """Adds events to the outbox in the current tenant transaction (one statement for all).
    A repeated idempotency key is ignored: the event already exists."""
    if not events:
        return
    await conn.execute(
        _INSERT,
        [e.type for e in events],
        [e.exchange for e in events],
        [e.routing_key for e in events],
        [e.key for e in events],
        [json.dumps(e.data) for e in events],
        # The producer's trace context rides along so the consumer's span links back to it.
        [json.dumps(telemetry.inject_context(dict(e.headers))) for e in events],
    )
