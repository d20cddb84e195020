"""The event pipeline with real PostgreSQL, relay, RabbitMQ, consumers, SMTP and HTTP receiver:
nothing is lost under faults and nothing is applied twice."""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import subprocess
import uuid

import aio_pika
import pytest

from services.catalog.inventory.stock import Inventory
from services.catalog.products.repository import CatalogRepository
from services.catalog.products.rules import MoneyInput, ProductDraft, VariantDraft
from services.common.tenancy import current_store_id
from services.events.config import EventsConfig
from services.events.consumers.base import apply, parse
from services.events.consumers.email import EmailConsumer, message_id_for
from tests.integration.conftest import make_store
from tests.integration.events_support import (
    count,
    emit,
    low_stock,
    order_created,
    queue_depth,
    subscribe,
    wait_for,
)


@pytest.fixture(autouse=True)
def platform(stack):
    """Every test here needs the relay and the consumers running, also when run alone (the
    PostgreSQL-only `database` fixture behind app_pool starts no process)."""
    return stack


ALERTS = "SELECT count(*) FROM inventory_alerts"
PROCESSED = "SELECT count(*) FROM processed_events WHERE consumer = $1"
UNPUBLISHED = "SELECT count(*) FROM outbox WHERE published_at IS NULL"


async def test_low_stock_event_reaches_each_consumer_once(app_pool, webhook_receiver):
    store = await make_store(app_pool)
    path = f"/low-{store}"
    await subscribe(app_pool, store, webhook_receiver, path, "inventory/low")
    event = low_stock(store)
    await emit(app_pool, store, event)
    await emit(app_pool, store, event)  # the producer retried: same key, still one event

    async def delivered():
        return len(webhook_receiver.requests_to(path)) == 1 and (
            await count(app_pool, store, ALERTS) == 1
        )

    await wait_for(delivered, what="alert and webhook")
    [request] = webhook_receiver.requests_to(path)
    assert request.signature_valid
    assert request.headers["x-shop-event-id"] == event.key
    assert request.headers["x-shop-topic"] == "inventory/low"
    assert json.loads(request.body)["threshold"] == 5
    assert await count(app_pool, store, PROCESSED, "inventory_alerts") == 1
    assert await count(app_pool, store, PROCESSED, "webhook") == 1


async def test_relay_killed_before_publishing_loses_nothing(stack, app_pool):
    store = await make_store(app_pool)
    relay = stack.procs["relay"]
    relay.send_signal(signal.SIGKILL)
    await asyncio.to_thread(relay.wait)
    events = [low_stock(store) for _ in range(20)]
    for event in events:
        await emit(app_pool, store, event)  # each commits while no relay runs
    assert await count(app_pool, store, UNPUBLISHED) == 20
    await asyncio.to_thread(stack.start_service, "relay", "services.events.relay")

    async def all_applied():
        return await count(app_pool, store, ALERTS) == 20

    await wait_for(all_applied, what="20 alerts after relay restart")
    assert await count(app_pool, store, UNPUBLISHED) == 0
    assert await count(app_pool, store, PROCESSED, "inventory_alerts") == 20


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


async def test_broker_outage_during_200_inventory_changes(app_pool, webhook_receiver):
    store = await make_store(app_pool)
    path = f"/outage-{store}"
    await subscribe(app_pool, store, webhook_receiver, path, "inventory/update")
    token = current_store_id.set(store)
    try:
        product = await CatalogRepository(app_pool).create_product(
            ProductDraft(
                title="Outage",
                status="active",
                variants=(
                    VariantDraft(
                        sku=f"OUT-{store}", price=MoneyInput(100, ""), inventory_quantity=1000
                    ),
                ),
            )
        )
        variant = product.variants[0]
        inventory = Inventory(app_pool)
        await asyncio.to_thread(_rabbitmqctl, "stop_app")
        try:
            version = variant.version
            for _ in range(200):  # each change commits with the broker down
                version = (await inventory.adjust(str(variant.id), 1, version)).version
        finally:
            await asyncio.to_thread(_rabbitmqctl, "start_app")
    finally:
        current_store_id.reset(token)

    async def all_delivered():
        return len(webhook_receiver.requests_to(path)) >= 200

    await wait_for(all_delivered, within=90, what="200 inventory webhooks after the restart")
    await asyncio.sleep(0.5)
    received = [json.loads(r.body)["version"] for r in webhook_receiver.requests_to(path)]
    assert sorted(received) == list(range(variant.version + 1, variant.version + 201))  # once each
    assert await count(app_pool, store, PROCESSED, "webhook") == 200
    assert await count(app_pool, store, UNPUBLISHED) == 0


async def test_consumer_killed_after_effect_before_ack_is_not_applied_twice(
    stack, app_pool, amqp_url, smtp_server, webhook_receiver
):
    store = await make_store(app_pool)
    path = f"/orders-{store}"
    await subscribe(app_pool, store, webhook_receiver, path, "orders/create")
    await asyncio.to_thread(stack.stop, "consumers")
    event = order_created(1001)
    await emit(app_pool, store, event)

    async def published():
        return await count(app_pool, store, UNPUBLISHED) == 0

    await wait_for(published, what="publish")
    # Play the consumer that dies: take the message, apply its effect, never ack.
    config = EventsConfig.from_env()
    email = EmailConsumer(type(config)(**{**config.__dict__, "smtp_port": smtp_server.port}))
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    queue = await channel.get_queue("orders.email", ensure=False)
    message = await queue.get(no_ack=False, timeout=10)
    assert message.message_id == event.key
    store_id, key, body = parse(message)
    assert await apply(app_pool, email, store_id, key, body)
    message_id = message_id_for(event.key, config.platform_domain)
    assert len(smtp_server.inbox.with_message_id(message_id)) == 1
    await connection.close()  # the connection dies unacked: RabbitMQ requeues the message

    await asyncio.to_thread(stack.start_events_consumers)

    async def drained():
        return (
            await asyncio.to_thread(queue_depth, amqp_url, "orders.email") == 0
            and len(webhook_receiver.requests_to(path)) == 1
        )

    await wait_for(drained, what="redelivery handled and webhook sent")
    await asyncio.sleep(0.5)
    assert len(smtp_server.inbox.with_message_id(message_id)) == 1
    assert len(webhook_receiver.requests_to(path)) == 1
    assert await count(app_pool, store, PROCESSED, "email") == 1


async def test_poison_message_is_dead_lettered_and_queue_keeps_flowing(
    app_pool, amqp_url, smtp_server
):
    store = await make_store(app_pool)
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        poison_key = uuid.uuid4().hex
        # Valid envelope, but an order without its number: rendering fails on every delivery.
        body = {
            "event": "order.created",
            "timestamp": "2026-01-01T00:00:00Z",
            "idempotencyKey": poison_key,
            "storeId": str(store),
            "data": {"email": "x@example.com", "currency": "USD"},
        }
        await channel.default_exchange.publish(
            aio_pika.Message(json.dumps(body).encode(), message_id=poison_key),
            routing_key="orders.email",
        )
        garbage_key = uuid.uuid4().hex
        await channel.default_exchange.publish(
            aio_pika.Message(b"{not json", message_id=garbage_key), routing_key="orders.email"
        )
        good = order_created(2002)
        await emit(app_pool, store, good)

        async def good_arrived():
            config = EventsConfig.from_env()
            return bool(
                smtp_server.inbox.with_message_id(message_id_for(good.key, config.platform_domain))
            )

        await wait_for(good_arrived, what="the good message behind the poison")
        dlq = await channel.get_queue("orders.email.dlq", ensure=False)
        dead = set()

        async def both_dead():
            message = await dlq.get(no_ack=True, fail=False)
            if message is not None:
                dead.add(message.message_id)
            return {poison_key, garbage_key} <= dead

        await wait_for(both_dead, what="poison and garbage in the dead-letter queue")
    finally:
        await connection.close()


async def test_failing_receiver_gets_growing_retries_with_same_event_id(app_pool, webhook_receiver):
    store = await make_store(app_pool)
    path = f"/flaky-{store}"
    await subscribe(app_pool, store, webhook_receiver, path, "inventory/low")
    webhook_receiver.scripts[path] = [500, 500, 500, 500]
    event = low_stock(store)
    await emit(app_pool, store, event)

    async def delivered():
        return (
            await count(
                app_pool,
                store,
                "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'",
            )
            == 1
        )

    await wait_for(delivered, what="4 failures and a success")
    requests = webhook_receiver.requests_to(path)
    assert {r.headers["x-shop-event-id"] for r in requests} == {event.key}
    assert all(r.signature_valid for r in requests)
    gaps = [b.at - a.at for a, b in itertools.pairwise(requests)]
    assert gaps[3] > gaps[0] and gaps[2] > gaps[0], gaps
    codes = await count(
        app_pool,
        store,
        "SELECT string_agg(response_code::text, ',' ORDER BY attempt) FROM webhook_attempts",
    )
    assert codes == "500,500,500,500,200"
    assert len(requests) == 5


@pytest.mark.parametrize("field", ["storeId", "data"])
def test_parse_rejects_envelopes_without_store_or_data(field):
    from services.events.consumers.base import PoisonMessage

    class Message:
        message_id = "k"
        body = json.dumps({k: v for k, v in {"storeId": "1", "data": {}}.items() if k != field})

    with pytest.raises(PoisonMessage):
        parse(Message())
