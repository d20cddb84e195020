"""OUTBOX_WAKE=poll: the relay publishes without the outbox's NOTIFY trigger, as on Citus
(where migration 0020c drops it: it would run on a worker, inside a prepared transaction, far
from the relay). A database and a RabbitMQ virtual host of its own, so no other relay or
consumer takes part."""

from __future__ import annotations

import dataclasses
import uuid

import asyncpg
import pytest

from devstack.amqp import create_vhost, delete_vhost, ensure_rabbitmq, with_vhost
from devstack.dsn import RELAY_ROLE, with_database, with_user
from devstack.migrate import drop_database, migrate
from services.events.config import EventsConfig
from services.events.relay import Relay
from tests.support.polling import eventually_async


@pytest.fixture
def polling_setup(pg_admin_dsn):
    database = f"shop_poll_{uuid.uuid4().hex[:8]}"
    vhost = f"shop_poll_{uuid.uuid4().hex[:8]}"
    migrate(pg_admin_dsn, database)
    assert create_vhost(vhost)
    yield database, with_vhost(ensure_rabbitmq(), vhost)
    delete_vhost(vhost)
    drop_database(pg_admin_dsn, database)


async def _add_row(admin: asyncpg.Connection, store: int) -> str:
    key = uuid.uuid4().hex
    await admin.execute(
        """INSERT INTO outbox (store_id, event_type, exchange, routing_key, idempotency_key,
                               payload)
           VALUES ($1, 'inventory.low', 'inventory.events', $2, $3, '{}')""",
        store,
        f"inventory.low.{store}",
        key,
    )
    return key


async def test_relay_in_poll_mode_publishes_without_the_notify_trigger(pg_admin_dsn, polling_setup):
    database, amqp_url = polling_setup
    admin = await asyncpg.connect(with_database(pg_admin_dsn, database))
    config = dataclasses.replace(
        EventsConfig.from_env(),
        amqp_url=amqp_url,
        relay_database_url=with_user(pg_admin_dsn, RELAY_ROLE, database),
        relay_wake="poll",
        relay_poll_interval=0.2,
    )
    relay = Relay(config)
    try:
        await admin.execute("DROP TRIGGER outbox_notify ON outbox")
        store = await admin.fetchval(
            """INSERT INTO stores (name, subdomain, owner_email, currency)
               VALUES ('S', 'poll-' || substr(md5(random()::text), 1, 8), 'o@example.com',
                       'USD') RETURNING id"""
        )
        first = await _add_row(admin, store)
        await relay.start()

        async def published(key: str) -> bool:
            return await admin.fetchval(
                "SELECT published_at IS NOT NULL FROM outbox WHERE idempotency_key = $1", key
            )

        await eventually_async(lambda: published(first), within=20, what="first row published")
        # Once idle, a new row (no NOTIFY can wake the relay) goes out on the next poll.
        second = await _add_row(admin, store)
        await eventually_async(lambda: published(second), within=5, what="row after idling")
        assert relay.published == 2
    finally:
        await relay.stop()
        await admin.close()


def test_outbox_wake_accepts_only_notify_or_poll(monkeypatch):
    monkeypatch.setenv("OUTBOX_WAKE", "poll")
    assert EventsConfig.from_env().relay_wake == "poll"
    monkeypatch.setenv("OUTBOX_WAKE", "sometimes")
    with pytest.raises(ValueError, match="OUTBOX_WAKE must be notify or poll"):
        EventsConfig.from_env()
