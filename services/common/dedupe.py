"""Exactly-once effects for at-least-once inputs (broker redeliveries, Stripe's webhook
retries): the input's key is recorded in `processed_events` in the same tenant transaction as
its effect, so the effect and the record commit or roll back together."""

from __future__ import annotations

import asyncpg

_CLAIM = """
INSERT INTO processed_events (store_id, consumer, event_key)
VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING RETURNING 1
"""


async def first_time(conn: asyncpg.Connection, store_id: int, consumer: str, key: str) -> bool:
    """Records `key` for `consumer`; False when it was already recorded (do nothing then)."""
    return bool(await conn.fetchval(_CLAIM, store_id, consumer, key))
