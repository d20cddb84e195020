"""Claiming due webhook deliveries for the delivery worker: the stores that have some come from
the one cross-store read the worker role may make; each store's deliveries are then leased in
that store's tenant transaction by a statement naming the store (on Citus: one shard, no
cross-shard row locks)."""

from __future__ import annotations

import uuid

import asyncpg

from services.common.db import tenant_transaction

_STORES = "SELECT store_id FROM platform.stores_with_due_webhooks($1)"
# A store suspended since it was listed keeps its deliveries pending.
_CLAIM = """
UPDATE webhook_deliveries d SET leased_until = now() + make_interval(secs => $3)
WHERE d.store_id = $1 AND d.id IN (
      SELECT w.id FROM webhook_deliveries w
      WHERE w.store_id = $1 AND w.status = 'pending' AND w.next_attempt_at <= now()
        AND (w.leased_until IS NULL OR w.leased_until < now())
        AND EXISTS (SELECT 1 FROM stores s WHERE s.id = $1 AND s.status <> 'suspended')
      ORDER BY w.next_attempt_at
      LIMIT $2
      FOR UPDATE SKIP LOCKED)
RETURNING d.id
"""


class DueDeliveries:
    def __init__(self, pool: asyncpg.Pool, worker_pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._worker_pool = worker_pool

    async def claim(self, limit: int, lease_seconds: int) -> list[tuple[int, uuid.UUID]]:
        """Up to `limit` due deliveries, leased for `lease_seconds`."""
        claimed: list[tuple[int, uuid.UUID]] = []
        for row in await self._worker_pool.fetch(_STORES, limit):
            store_id = row["store_id"]
            async with tenant_transaction(self._pool, store_id=store_id) as conn:
                ids = await conn.fetch(_CLAIM, store_id, limit - len(claimed), lease_seconds)
            claimed += [(store_id, r["id"]) for r in ids]
            if len(claimed) >= limit:
                break
        return claimed
