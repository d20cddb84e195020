"""The retention reaper: deletes rows past their retention period, so no table only grows.

Runs in the relay process as `shop_reaper`, a role that may only read the key and age columns
of these tables and delete their rows. For each kind of row it asks which stores have expired
rows (`platform.stores_with_expired_rows`, keyset over store ids: the one cross-store read),
then deletes each store's in batches of at most `batch` rows, every batch its own tenant
transaction naming the store (RLS confines the role to it as well). Every pass can be repeated
and may run on several replicas at once: a row is deleted once, the others find nothing.

| kind | rows | after (default) |
|---|---|---|
| checkouts | finished idempotency records (completed, declined, failed, refunded) | 24 h |
| processed_events | consumer dedupe, past the broker's redelivery horizon | 14 days |
| webhook_deliveries | delivered, failed, cancelled ones, with their attempts | 30 days |
| webhooks | deleted webhooks' tombstones (and what log is left) | 30 days |
| inventory_alerts | low-stock alerts | 90 days |
| sent_emails | the email consumer's record of what it sent | 90 days |
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import asyncpg

from services.common.config import env, env_float, env_int
from services.common.db import tenant_transaction
from services.common.metrics import RETENTION_DELETED
from services.common.workers import PeriodicWorker

log = logging.getLogger(__name__)

DAY = 24 * 3600.0
STORES_PER_LIST = 100

# One batch of one store: the keys of up to $3 expired rows, then those rows. Each names the
# store ($1); $2 is the age in seconds.
_DELETES: dict[str, str] = {
    "checkouts": """
        DELETE FROM checkouts WHERE store_id = $1 AND id IN (
            SELECT id FROM checkouts WHERE store_id = $1
               AND state IN ('completed', 'declined', 'failed', 'refunded')
               AND updated_at < now() - make_interval(secs => $2)
             LIMIT $3)""",
    "processed_events": """
        DELETE FROM processed_events WHERE store_id = $1 AND (consumer, event_key) IN (
            SELECT consumer, event_key FROM processed_events WHERE store_id = $1
               AND processed_at < now() - make_interval(secs => $2)
             LIMIT $3)""",
    # Attempts go with their delivery (ON DELETE CASCADE).
    "webhook_deliveries": """
        DELETE FROM webhook_deliveries WHERE store_id = $1 AND id IN (
            SELECT id FROM webhook_deliveries WHERE store_id = $1 AND status <> 'pending'
               AND created_at < now() - make_interval(secs => $2)
             LIMIT $3)""",
    "webhooks": """
        DELETE FROM webhooks WHERE store_id = $1 AND id IN (
            SELECT id FROM webhooks WHERE store_id = $1
               AND deleted_at < now() - make_interval(secs => $2)
             LIMIT $3)""",
    "inventory_alerts": """
        DELETE FROM inventory_alerts WHERE store_id = $1 AND event_key IN (
            SELECT event_key FROM inventory_alerts WHERE store_id = $1
               AND created_at < now() - make_interval(secs => $2)
             LIMIT $3)""",
    "sent_emails": """
        DELETE FROM sent_emails WHERE store_id = $1 AND message_id IN (
            SELECT message_id FROM sent_emails WHERE store_id = $1
               AND sent_at < now() - make_interval(secs => $2)
             LIMIT $3)""",
}
KINDS = tuple(_DELETES)


@dataclass(frozen=True)
class RetentionConfig:
    database_url: str
    interval: float
    batch: int
    # Seconds each kind of row is kept (see the module's table).
    periods: dict[str, float]

    @classmethod
    def from_env(cls) -> RetentionConfig:
        deliveries = env_float("RETENTION_WEBHOOK_DELIVERIES_SECONDS", 30 * DAY)
        return cls(
            database_url=env(
                "RETENTION_DATABASE_URL", "postgresql://shop_reaper@127.0.0.1:5432/shop"
            ),
            interval=env_float("RETENTION_INTERVAL_SECONDS", 300.0),
            batch=env_int("RETENTION_BATCH_ROWS", 1000),
            periods={
                "checkouts": env_float("RETENTION_IDEMPOTENCY_SECONDS", DAY),
                "processed_events": env_float("RETENTION_PROCESSED_EVENTS_SECONDS", 14 * DAY),
                "webhook_deliveries": deliveries,
                "webhooks": deliveries,
                "inventory_alerts": env_float("RETENTION_INVENTORY_ALERTS_SECONDS", 90 * DAY),
                "sent_emails": env_float("RETENTION_SENT_EMAILS_SECONDS", 90 * DAY),
            },
        )


class Reaper(PeriodicWorker):
    name = "retention-reaper"

    def __init__(self, pool: asyncpg.Pool, config: RetentionConfig) -> None:
        super().__init__()
        self._pool = pool
        self._config = config
        self.interval = config.interval

    async def run_once(self) -> bool:
        """One sweep over every kind and every store with expired rows; never True (the sweep
        itself goes until nothing expired is left)."""
        for kind in KINDS:
            deleted = await self.reap(kind)
            if deleted:
                log.info("retention: %d %s rows deleted", deleted, kind)
        return False

    async def reap(self, kind: str) -> int:
        age = self._config.periods[kind]
        after, total = 0, 0
        while True:
            stores = await self._pool.fetch(
                "SELECT store_id FROM platform.stores_with_expired_rows($1, $2, $3, $4)",
                kind,
                age,
                after,
                STORES_PER_LIST,
            )
            for row in stores:
                total += await self._reap_store(kind, row["store_id"], age)
            if len(stores) < STORES_PER_LIST:
                return total
            after = stores[-1]["store_id"]

    async def _reap_store(self, kind: str, store_id: int, age: float) -> int:
        total = 0
        while True:
            async with tenant_transaction(self._pool, store_id=store_id) as conn:
                status = await conn.execute(_DELETES[kind], store_id, age, self._config.batch)
            deleted = int(status.split()[-1])
            RETENTION_DELETED.labels(kind).inc(deleted)
            total += deleted
            if deleted < self._config.batch:
                return total
