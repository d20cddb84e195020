"""Claiming checkouts whose lease ran out, for the recovery worker: the stores that have some
come from the one cross-store read the worker role may make; each store's checkouts are then
claimed in that store's tenant transaction by a statement naming the store (on Citus: one
shard, no cross-shard row locks)."""

from __future__ import annotations

import uuid

import asyncpg

from services.common.db import tenant_transaction

_STORES = "SELECT store_id FROM platform.stores_with_stale_checkouts($1)"
# The states with a recovery path (services/checkout/checkout/recovery.py).
_CLAIM = """
UPDATE checkouts c SET lease_until = now() + make_interval(secs => $3)
WHERE c.store_id = $1 AND c.id IN (
      SELECT s.id FROM checkouts s
      WHERE s.store_id = $1
        AND s.state IN ('processing', 'reserved', 'requires_action', 'refunding')
        AND s.lease_until < now()
      ORDER BY s.lease_until
      LIMIT $2
      FOR UPDATE SKIP LOCKED)
RETURNING c.id
"""


class StaleCheckouts:
    def __init__(self, pool: asyncpg.Pool, worker_pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._worker_pool = worker_pool

    async def claim(self, limit: int, lease_seconds: int) -> list[tuple[int, uuid.UUID]]:
        """Up to `limit` stale checkouts, leased for `lease_seconds` (another worker's
        claim skips them until the lease runs out again)."""
        claimed: list[tuple[int, uuid.UUID]] = []
        for row in await self._worker_pool.fetch(_STORES, limit):
            store_id = row["store_id"]
            async with tenant_transaction(self._pool, store_id=store_id) as conn:
                ids = await conn.fetch(_CLAIM, store_id, limit - len(claimed), lease_seconds)
            claimed += [(store_id, r["id"]) for r in ids]
            if len(claimed) >= limit:
                break
        return claimed
