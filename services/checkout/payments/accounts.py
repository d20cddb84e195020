"""Which Stripe Connect account takes a store's payments."""

from __future__ import annotations

import time

import asyncpg

from services.common.db import tenant_transaction

ACCOUNT_CACHE_SECONDS = 60.0

_ACCOUNT = "SELECT stripe_account_id FROM stores WHERE id = $1"


async def account_in(conn: asyncpg.Connection, store_id: int) -> str | None:
    """The store's account, read in the caller's tenant transaction."""
    return await conn.fetchval(_ACCOUNT, store_id)


class StoreAccounts:
    """A store's account changes only at (re)onboarding, so it is cached for a minute instead
    of costing a transaction per checkout."""

    def __init__(self, pool: asyncpg.Pool, ttl: float = ACCOUNT_CACHE_SECONDS) -> None:
        self._pool = pool
        self._ttl = ttl
        self._cache: dict[int, tuple[str | None, float]] = {}

    async def get(self, store_id: int) -> str | None:
        cached = self._cache.get(store_id)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        async with tenant_transaction(self._pool, store_id=store_id, readonly=True) as conn:
            account = await account_in(conn, store_id)
        self._cache[store_id] = (account, time.monotonic() + self._ttl)
        return account
