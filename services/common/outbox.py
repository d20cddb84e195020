"""Writes domain events into the transactional outbox, inside the caller's tenant transaction,
so an event exists if and only if the change it describes committed. The relay
(services.events.relay) publishes the rows to RabbitMQ."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from services.common import db, telemetry

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
# Built in SQL so no extra round trip is needed. One VALUES row per event with the store as a
# parameter: on Citus an INSERT … VALUES naming its distribution value goes to one shard, where
# INSERT … SELECT FROM unnest(…) was planned across shards (and forced a two-phase commit).
# now(), not now(): volatile functions are refused in distributed DML.
_ROW = (
    "($1::bigint, ${t}, ${x}, ${r}, ${k}, jsonb_build_object('event', ${t}::text, 'timestamp',"
    " to_jsonb(now()), 'idempotencyKey', ${k}::text, 'storeId', $1::text, 'data', ${d}::jsonb),"
    " ${h}::jsonb)"
)
_FIELDS = 6


def _insert(count: int) -> str:
    rows = ",\n       ".join(
        _ROW.format(**{f: 2 + i * _FIELDS + n for n, f in enumerate("txrkdh")})
        for i in range(count)
    )
    return (
        "INSERT INTO outbox (store_id, event_type, exchange, routing_key, idempotency_key,"
        f" payload, headers)\nVALUES {rows}\nON CONFLICT (store_id, idempotency_key) DO NOTHING"
    )


async def record(conn: asyncpg.Connection, *events: Event) -> None:
    """Adds events to the outbox in the current tenant transaction (one statement for all),
    for the store that transaction was opened for. A repeated idempotency key is ignored: the
    event already exists."""
    if not events:
        return
    args: list[object] = [await db.transaction_store(conn)]
    for e in events:
        args += [
            e.type,
            e.exchange,
            e.routing_key,
            e.key,
            json.dumps(e.data),
            # The producer's trace context rides along so the consumer's span links back to it.
            json.dumps(telemetry.inject_context(dict(e.headers))),
        ]
    await conn.execute(_insert(len(events)), *args)
