"""The erase job: a closed store whose grace period is over loses every row it has, in every
table, and its Redis keys. Runs in the Store service as the shop_eraser role.

For each due store (platform.stores_due_for_erasure, the one cross-store read):
1. announce — in one tenant transaction, mark the erasure started (no reinstating from here)
   and write `store.redact` to the outbox; the relay publishes it, the webhook consumer turns
   it into `shop/redact` deliveries for the store's subscriptions, the delivery worker sends
   them (a closed store's deliveries are not paused);
2. wait until those deliveries have ended (delivered, or failed after their retries) or the
   redact wait is over — the deliveries live in the store's own rows, so they must be done
   before those rows go;
3. empty every table that has a store_id, found in the catalog on each pass (a table added
   later is erased without a code change), children before parents, in bounded batches, each
   batch its own tenant transaction naming the store (RLS confines the role to it too);
4. forget the store's Redis keys (carts by SCAN of `cart:<store>:*`, the token cache entries
   of the tokens just deleted);
5. in a last transaction, with the `stores` row locked (so nothing can reference it any more),
   check every table is empty and delete the row; else go round again.
Every step can be repeated, so a crash anywhere is finished by the next pass."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import redis.asyncio as redis

from services.common import outbox
from services.common.db import tenant_transaction
from services.common.store_keys import store_key_patterns
from services.common.workers import PeriodicWorker
from services.store.lifecycle.erase_rules import (
    STORES,
    WEBHOOK_CONSUMER,
    RedactProgress,
    Table,
    erase_order,
    redact_settled,
)
from services.store.tokens.resolver import cache_key

log = logging.getLogger(__name__)

DUE_BATCH = 10
ROUNDS = 3
# Keys looked at per SCAN call: a store's keys are found by pattern, which walks the whole
# keyspace once per erased store, in steps that never block Redis.
SCAN_COUNT = 1000

_TABLES = """
SELECT c.relname AS name,
       ARRAY(SELECT a.attname::text
               FROM pg_index i
               CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
              WHERE i.indrelid = c.oid AND i.indisprimary
              ORDER BY k.ord) AS key,
       ARRAY(SELECT DISTINCT p.relname::text
               FROM pg_constraint f JOIN pg_class p ON p.oid = f.confrelid
              WHERE f.conrelid = c.oid AND f.contype = 'f' AND f.confrelid <> c.oid) AS parents
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND c.relname <> 'stores'
  AND EXISTS (SELECT 1 FROM pg_attribute a
               WHERE a.attrelid = c.oid AND a.attname = 'store_id' AND NOT a.attisdropped)
"""


def redact_key(store_id: int) -> str:
    return f"shop-redact:{store_id}"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _delete_batch(table: Table) -> str:
    key = ", ".join(_ident(c) for c in table.key)
    returning = "token_hash" if table.name == "api_tokens" else "NULL"
    name = _ident(table.name)
    return (
        f"DELETE FROM {name} WHERE store_id = $1 AND ({key}) IN"
        f" (SELECT {key} FROM {name} WHERE store_id = $1 LIMIT $2)"
        f" RETURNING {returning} AS returned"
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


class StoreEraser(PeriodicWorker):
    name = "store-eraser"

    def __init__(
        self,
        pool: asyncpg.Pool,
        cache: redis.Redis,
        platform_domain: str,
        *,
        interval: float,
        batch: int,
        redact_wait: float,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__()
        self._pool = pool
        self._redis = cache
        self._domain = platform_domain
        self.interval = interval
        self._batch = batch
        self._redact_wait = timedelta(seconds=redact_wait)
        self._now = clock

    async def run_once(self) -> bool:
        due = await self._pool.fetch(
            "SELECT store_id FROM platform.stores_due_for_erasure($1)", DUE_BATCH
        )
        for row in due:
            try:
                await self.erase(row["store_id"])
            except Exception:
                # The next pass picks it up where this one stopped.
                log.exception("erasing store %s failed; retried next pass", row["store_id"])
        return False

    async def erase(self, store_id: int) -> bool:
        """One pass over one due store; True once nothing of it is left."""
        progress = await self._announce(store_id)
        if progress is None:
            return True  # gone already (or reinstated meanwhile)
        if not redact_settled(progress, self._now(), self._redact_wait):
            return False
        if not progress.outbox_gone and progress.pending_deliveries:
            log.warning("store %s: shop/redact not delivered in time; erasing anyway", store_id)
        tables = erase_order(await self.tables())
        for _ in range(ROUNDS):
            erased = {t.name: await self._drain(store_id, t) for t in tables}
            await self._forget_redis(store_id)
            if await self._finish(store_id, tables):
                log.info("store %s erased: %s", store_id, {k: v for k, v in erased.items() if v})
                return True
        log.warning("store %s: rows keep appearing while erasing; next pass", store_id)
        return False

    async def tables(self) -> list[Table]:
        """Every table with a store_id (besides `stores`), as the catalog says now."""
        rows = await self._pool.fetch(_TABLES)
        return [Table(r["name"], tuple(r["key"]), frozenset(r["parents"])) for r in rows]

    async def _announce(self, store_id: int) -> RedactProgress | None:
        key = redact_key(store_id)
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            row = await conn.fetchrow(
                """UPDATE stores SET erase_started_at = now()
                   WHERE id = $1 AND status = 'closed' AND erase_after <= now()
                     AND erase_started_at IS NULL
                   RETURNING subdomain""",
                store_id,
            )
            if row is not None:
                await outbox.record(
                    conn,
                    outbox.store_event(
                        "redact",
                        {"shop_id": store_id, "shop_domain": f"{row['subdomain']}.{self._domain}"},
                        key=key,
                    ),
                )
                log.info("store %s: erasure announced (shop/redact)", store_id)
        async with tenant_transaction(self._pool, store_id=store_id, readonly=True) as conn:
            found = await conn.fetchrow(
                """SELECT s.erase_started_at,
                          o.idempotency_key IS NULL AS outbox_gone,
                          o.published_at IS NOT NULL AS published,
                          EXISTS (SELECT 1 FROM processed_events p
                                   WHERE p.store_id = $1 AND p.consumer = $3
                                     AND p.event_key = $2) AS processed,
                          (SELECT count(*) FROM webhook_deliveries d
                            WHERE d.store_id = $1 AND d.event_key = $2
                              AND d.status = 'pending') AS pending
                   FROM stores s
                   LEFT JOIN outbox o ON o.store_id = s.id AND o.idempotency_key = $2
                   WHERE s.id = $1 AND s.erase_started_at IS NOT NULL""",
                store_id,
                key,
                WEBHOOK_CONSUMER,
            )
        if found is None:
            return None
        return RedactProgress(
            started_at=found["erase_started_at"],
            outbox_gone=found["outbox_gone"],
            published=found["published"],
            processed=found["processed"],
            pending_deliveries=found["pending"],
        )

    async def _drain(self, store_id: int, table: Table) -> int:
        statement = _delete_batch(table)
        total = 0
        while True:
            async with tenant_transaction(self._pool, store_id=store_id) as conn:
                rows = await conn.fetch(statement, store_id, self._batch)
            total += len(rows)
            hashes = [bytes(r["returned"]) for r in rows if r["returned"] is not None]
            if hashes:
                # The authorizer's cached grants of the tokens just deleted.
                await self._redis.delete(*(cache_key(h) for h in hashes))
            if len(rows) < self._batch:
                return total

    async def _forget_redis(self, store_id: int) -> None:
        for pattern in store_key_patterns(store_id):
            keys: list[bytes] = []
            async for key in self._redis.scan_iter(match=pattern, count=SCAN_COUNT):
                keys.append(key)
                if len(keys) >= self._batch:
                    await self._redis.unlink(*keys)
                    keys = []
            if keys:
                await self._redis.unlink(*keys)

    async def _finish(self, store_id: int, tables: list[Table]) -> bool:
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            # Locked: inserts that reference the store (foreign keys take a share lock on
            # this row) wait, then fail once it is gone; none can slip in after the checks.
            locked = await conn.fetchval(
                f"SELECT id FROM {STORES} WHERE id = $1 FOR UPDATE", store_id
            )
            if locked is None:
                return True
            for table in tables:
                left = await conn.fetchval(
                    f"SELECT EXISTS (SELECT 1 FROM {_ident(table.name)} WHERE store_id = $1)",
                    store_id,
                )
                if left:
                    return False
            await conn.execute(f"DELETE FROM {STORES} WHERE id = $1", store_id)
        return True
