"""RabbitMQ topology, declared idempotently by every process that uses it.

orders.events (fanout) → orders.email, orders.webhook, orders.analytics
inventory.events (topic, inventory.{action}.{store_id}) → inventory.alerts (inventory.low.*),
                                                         inventory.webhook (inventory.#)
payouts.events (fanout; payout.paid, payout.failed) → payouts.email, payouts.webhook
store.events (topic, store.{action}) → store.email (owner email confirmations and notices),
                                       store.webhook (store.redact → shop/redact)
customers.events (fanout; customer.created/updated/redact and the account mails) →
                 customers.email, customers.webhook
Every queue is a durable quorum queue with a delivery limit; a message that keeps failing is
dead-lettered to `<queue>.dlq` through the events.dlx exchange, and the queue keeps flowing."""

from __future__ import annotations

from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange

from services.common.outbox import (
    CUSTOMERS_EXCHANGE,
    INVENTORY_EXCHANGE,
    ORDERS_EXCHANGE,
    PAYOUTS_EXCHANGE,
    STORE_EXCHANGE,
)

DEAD_LETTER_EXCHANGE = "events.dlx"
DELIVERY_LIMIT = 5


@dataclass(frozen=True)
class QueueSpec:
    name: str
    exchange: str
    bindings: tuple[str, ...]


QUEUES = (
    QueueSpec("orders.email", ORDERS_EXCHANGE, ("",)),
    QueueSpec("orders.webhook", ORDERS_EXCHANGE, ("",)),
    QueueSpec("orders.analytics", ORDERS_EXCHANGE, ("",)),
    QueueSpec("inventory.alerts", INVENTORY_EXCHANGE, ("inventory.low.*",)),
    QueueSpec("inventory.webhook", INVENTORY_EXCHANGE, ("inventory.#",)),
    QueueSpec("payouts.email", PAYOUTS_EXCHANGE, ("",)),
    QueueSpec("payouts.webhook", PAYOUTS_EXCHANGE, ("",)),
    QueueSpec(
        "store.email",
        STORE_EXCHANGE,
        ("store.owner_email_confirmation", "store.owner_email_changed"),
    ),
    QueueSpec("store.webhook", STORE_EXCHANGE, ("store.redact",)),
    QueueSpec("customers.email", CUSTOMERS_EXCHANGE, ("",)),
    QueueSpec("customers.webhook", CUSTOMERS_EXCHANGE, ("",)),
)
EXCHANGES = {
    ORDERS_EXCHANGE: aio_pika.ExchangeType.FANOUT,
    INVENTORY_EXCHANGE: aio_pika.ExchangeType.TOPIC,
    PAYOUTS_EXCHANGE: aio_pika.ExchangeType.FANOUT,
    STORE_EXCHANGE: aio_pika.ExchangeType.TOPIC,
    CUSTOMERS_EXCHANGE: aio_pika.ExchangeType.FANOUT,
}


def dead_letter_queue(queue: str) -> str:
    return f"{queue}.dlq"


async def declare(channel: AbstractChannel) -> dict[str, AbstractExchange]:
    exchanges = {
        name: await channel.declare_exchange(name, kind, durable=True)
        for name, kind in EXCHANGES.items()
    }
    dlx = await channel.declare_exchange(
        DEAD_LETTER_EXCHANGE, aio_pika.ExchangeType.DIRECT, durable=True
    )
    for spec in QUEUES:
        dlq = await channel.declare_queue(
            dead_letter_queue(spec.name), durable=True, arguments={"x-queue-type": "quorum"}
        )
        await dlq.bind(dlx, routing_key=dead_letter_queue(spec.name))
        queue = await channel.declare_queue(
            spec.name,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": DELIVERY_LIMIT,
                "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
                "x-dead-letter-routing-key": dead_letter_queue(spec.name),
            },
        )
        for key in spec.bindings:
            await queue.bind(exchanges[spec.exchange], routing_key=key)
    return exchanges
