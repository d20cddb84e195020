"""The outbox row lives and dies with the transaction of the change it describes."""

from __future__ import annotations

import json

import pytest

from services.common import outbox
from services.common.db import tenant_transaction
from tests.integration.conftest import make_store
from tests.integration.events_support import count, low_stock

UNPUBLISHED_OR_NOT = "SELECT count(*) FROM outbox WHERE idempotency_key = $1"


class Boom(Exception):
    pass


async def test_event_is_rolled_back_with_its_transaction(app_pool):
    store = await make_store(app_pool)
    event = low_stock(store)
    with pytest.raises(Boom):
        async with tenant_transaction(app_pool, store_id=store) as conn:
            await outbox.record(conn, event)
            raise Boom
    assert await count(app_pool, store, UNPUBLISHED_OR_NOT, event.key) == 0


async def test_event_commits_once_even_if_recorded_twice(app_pool):
    store = await make_store(app_pool)
    event = low_stock(store)
    for _ in range(2):
        async with tenant_transaction(app_pool, store_id=store) as conn:
            await outbox.record(conn, event)
    assert await count(app_pool, store, UNPUBLISHED_OR_NOT, event.key) == 1


async def test_envelope_carries_the_transactions_store(app_pool):
    store = await make_store(app_pool)
    event = low_stock(store)
    async with tenant_transaction(app_pool, store_id=store) as conn:
        await outbox.record(conn, event)
        row = await conn.fetchrow(
            "SELECT routing_key, exchange, payload FROM outbox WHERE idempotency_key = $1",
            event.key,
        )
    payload = json.loads(row["payload"])
    assert row["routing_key"] == f"inventory.low.{store}"
    assert row["exchange"] == "inventory.events"
    assert payload["storeId"] == str(store) and payload["idempotencyKey"] == event.key
    assert payload["event"] == "inventory.low" and payload["data"]["threshold"] == 5
    assert payload["timestamp"]


async def test_several_events_are_one_values_insert_for_the_transactions_store(app_pool):
    store = await make_store(app_pool)
    first, second = low_stock(store), low_stock(store)
    sent: list[str] = []

    def log(record) -> None:
        sent.append(record.query)

    async with tenant_transaction(app_pool, store_id=store) as conn:
        conn.add_query_logger(log)
        try:
            await outbox.record(conn, first, second, first)  # a repeated key is ignored
        finally:
            conn.remove_query_logger(log)
    inserts = [q for q in sent if q.startswith("INSERT INTO outbox")]
    assert len(inserts) == 1 and "VALUES ($1::bigint" in inserts[0]
    assert "unnest" not in inserts[0] and "current_setting" not in inserts[0]
    for event in (first, second):
        assert await count(app_pool, store, UNPUBLISHED_OR_NOT, event.key) == 1
