"""The consume loop shared by every consumer: parse, dedupe, effect, commit, ack."""

from __future__ import annotations

import asyncio
import json
import logging
from abc import ABC, abstractmethod
from typing import Any

import asyncpg
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from services.common import telemetry
from services.common.db import tenant_transaction
from services.common.dedupe import first_time

log = logging.getLogger(__name__)

# The dedupe row's reference to its store: violated only when the store is gone.
STORE_GONE = "processed_events_store_id_fkey"


class PoisonMessage(Exception):
    """The message can never be handled (malformed); dead-letter it at once."""


class Consumer(ABC):
    name: str
    queue: str

    @abstractmethod
    async def handle(self, conn: asyncpg.Connection, store_id: int, event: dict[str, Any]) -> None:
        """The effect, inside the event's store tenant transaction."""

    async def after_commit(self, store_id: int, event: dict[str, Any]) -> None:  # noqa: B027
        """Called once the effect is committed (e.g. to wake a worker); nothing by default."""


def parse(message: AbstractIncomingMessage) -> tuple[int, str, dict[str, Any]]:
    try:
        event = json.loads(message.body)
        store_id = int(event["storeId"])
        key = message.message_id or event["idempotencyKey"]
        if not isinstance(event.get("data"), dict) or not key:
            raise ValueError("missing data or key")
    except (ValueError, KeyError, TypeError) as exc:
        raise PoisonMessage(str(exc)) from exc
    return store_id, key, event


async def apply(
    pool: asyncpg.Pool, consumer: Consumer, store_id: int, key: str, event: dict[str, Any]
) -> bool:
    """Runs the effect and records the key in one tenant transaction; False if the key was
    already recorded (a redelivery or a duplicate publish), or if the store no longer exists
    (erased after closing: its late events have nothing left to act on)."""
    try:
        async with tenant_transaction(pool, store_id=store_id) as conn:
            fresh = await first_time(conn, store_id, consumer.name, key)
            if fresh:
                await consumer.handle(conn, store_id, event)
    except asyncpg.ForeignKeyViolationError as exc:
        if exc.constraint_name != STORE_GONE:
            raise
        log.info("%s: event %s of erased store %s dropped", consumer.name, key, store_id)
        return False
    return fresh


async def process(pool: asyncpg.Pool, consumer: Consumer, message: AbstractIncomingMessage) -> bool:
    """Handles one delivery, then acks; returns whether the effect ran (False for a duplicate).
    Failures are requeued; after the queue's delivery limit RabbitMQ dead-letters the message."""
    try:
        store_id, key, event = parse(message)
    except PoisonMessage as exc:
        log.error(
            "%s: malformed message %s dead-lettered: %s", consumer.name, message.message_id, exc
        )
        await message.reject(requeue=False)
        return False
    try:
        with telemetry.consumer_span(f"consume {consumer.name}", message.headers, store_id):
            fresh = await apply(pool, consumer, store_id, key, event)
    except asyncio.CancelledError:
        raise
    except Exception:
        count = int(str((message.headers or {}).get("x-delivery-count", 0) or 0))
        log.exception("%s: event %s failed (delivery %d); requeued", consumer.name, key, count + 1)
        # A short, growing pause so a brief outage does not burn through the delivery limit.
        await asyncio.sleep(min(0.05 * 2**count, 2))
        await message.nack(requeue=True)
        return False
    await message.ack()
    if fresh:
        await consumer.after_commit(store_id, event)
    return fresh


async def consume(channel: AbstractChannel, pool: asyncpg.Pool, consumer: Consumer) -> None:
    queue = await channel.get_queue(consumer.queue, ensure=False)
    in_flight: set[asyncio.Task] = set()

    async def on_message(message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task is not None:
            in_flight.add(task)
        try:
            await process(pool, consumer, message)
        finally:
            in_flight.discard(task)

    await queue.consume(on_message)
    log.info("%s consuming %s", consumer.name, consumer.queue)
