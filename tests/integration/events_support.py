"""Helpers for the event pipeline tests: produce events the way services do (inside a tenant
transaction), and wait for their effects."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import unquote, urlsplit

import asyncpg

from services.common import outbox
from services.common.db import tenant_transaction
from services.common.ssrf import SsrfPolicy
from services.store.webhooks.repository import WebhookRepository
from tests.support.polling import eventually_async


async def emit(pool: asyncpg.Pool, store_id: int, *events: outbox.Event) -> None:
    async with tenant_transaction(pool, store_id=store_id) as conn:
        await outbox.record(conn, *events)


def low_stock(store_id: int, key: str | None = None) -> outbox.Event:
    return outbox.inventory_event(
        "low",
        store_id,
        {"variant_id": str(uuid.uuid4()), "sku": "LOW-1", "quantity": 2, "threshold": 5},
        key or uuid.uuid4().hex,
    )


def order_created(number: int, email: str = "buyer@example.com") -> outbox.Event:
    return outbox.order_event(
        "created",
        {
            "order_id": str(uuid.uuid4()),
            "order_number": number,
            "email": email,
            "currency": "USD",
            "lines": [{"title": "Tee", "quantity": 2, "total_minor": 5000}],
            "total_minor": 5000,
        },
        uuid.uuid4().hex,
    )


async def count(pool: asyncpg.Pool, store_id: int, sql: str, *args) -> int:
    async with tenant_transaction(pool, store_id=store_id, readonly=True) as conn:
        return await conn.fetchval(sql, *args)


async def wait_for(
    check: Callable[[], Awaitable[bool]], within: float = 30, what: str = "condition"
) -> float:
    started = time.monotonic()
    await eventually_async(check, within=within, what=what)
    return time.monotonic() - started


async def subscribe(pool: asyncpg.Pool, store_id: int, receiver, path: str, topic: str) -> str:
    from services.common.tenancy import current_store_id

    policy = SsrfPolicy(allow_http=True, allowed_targets=frozenset({f"127.0.0.1:{receiver.port}"}))
    token = current_store_id.set(store_id)
    try:
        row, secret = await WebhookRepository(pool, policy).create(topic, receiver.base_url + path)
    finally:
        current_store_id.reset(token)
    receiver.secrets[path] = secret
    return str(row.id)


def queue_depth(amqp_url: str, queue: str) -> int:
    """Ready + unacknowledged messages, from the local broker's CLI."""
    vhost = unquote(urlsplit(amqp_url).path[1:]) or "/"
    out = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "messages"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == queue:
            return int(parts[1])
    raise AssertionError(f"queue {queue} not found in {vhost}")
