"""Merchant webhooks: the consumer turns an event into one pending delivery per subscription
(in the same transaction as its dedupe row), and the delivery worker sends them: signed POST,
5 s timeout, no redirects, SSRF check again before each attempt, every attempt logged, retries
with growing delays until the budget is spent, then `failed` (redeliverable from the admin API)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from services.common.db import tenant_transaction
from services.common.errors import InvalidArgument
from services.common.ssrf import SsrfPolicy, check_url
from services.common.webhook_topics import topic_for
from services.common.workers import PeriodicWorker
from services.events.backoff import max_attempts, retry_delay
from services.events.config import EventsConfig
from services.events.consumers.base import Consumer
from services.events.consumers.webhook_claims import DueDeliveries
from services.events.signing import sign

log = logging.getLogger(__name__)

LEASE_SECONDS = 60
CLAIM_BATCH = 16


class WebhookConsumer(Consumer):
    name = "webhook"

    def __init__(self, queue: str, worker: WebhookDeliveryWorker) -> None:
        self.queue = queue
        self._worker = worker

    async def handle(self, conn: asyncpg.Connection, store_id: int, event: dict[str, Any]) -> None:
        topic = topic_for(event["event"])
        if topic is None:
            return
        await conn.execute(
            """INSERT INTO webhook_deliveries (store_id, webhook_id, event_key, topic, payload)
               SELECT store_id, id, $1, $2, $3::jsonb FROM webhooks WHERE topic = $2
               ON CONFLICT DO NOTHING""",
            event["idempotencyKey"],
            topic,
            json.dumps(event["data"]),
        )

    async def after_commit(self, store_id: int, event: dict[str, Any]) -> None:
        self._worker.wake()


_LOAD = """
SELECT d.id, d.webhook_id, d.event_key, d.topic, d.payload::text AS body, d.status, d.attempts,
       w.url, w.secret, s.subdomain
FROM webhook_deliveries d
JOIN webhooks w ON w.store_id = d.store_id AND w.id = d.webhook_id
JOIN stores s ON s.id = d.store_id
WHERE d.id = $1
"""


class WebhookDeliveryWorker(PeriodicWorker):
    name = "webhook-delivery"
    # Deliveries become due by time too (retries), not only by a consumer's wake-up.
    interval = 0.25

    def __init__(self, pool: asyncpg.Pool, worker_pool: asyncpg.Pool, config: EventsConfig) -> None:
        super().__init__()
        self._pool = pool
        self._due = DueDeliveries(pool, worker_pool)
        self._config = config
        self._policy = SsrfPolicy.from_env()
        self._max_attempts = max_attempts(config.webhook_retry_base, config.webhook_retry_budget)
        self._http = httpx.AsyncClient(follow_redirects=False, timeout=config.webhook_timeout)
        self._slots = asyncio.Semaphore(CLAIM_BATCH)

    async def close(self) -> None:
        await self._http.aclose()

    async def run_once(self) -> bool:
        try:
            claimed = await self._due.claim(CLAIM_BATCH, LEASE_SECONDS)
        except (OSError, asyncpg.PostgresError):
            log.warning("claiming webhook deliveries failed; retrying", exc_info=True)
            return False
        await asyncio.gather(*(self._deliver(store, delivery) for store, delivery in claimed))
        # Claimed something: look again at once (more may be due).
        return bool(claimed)

    async def _deliver(self, store_id: int, delivery_id) -> None:
        async with self._slots:
            try:
                await self._attempt(store_id, delivery_id)
            except Exception:
                # The lease expires and another pass retries it.
                log.exception("webhook delivery %s crashed", delivery_id)

    async def _attempt(self, store_id: int, delivery_id) -> None:
        async with tenant_transaction(self._pool, store_id=store_id, readonly=True) as conn:
            row = await conn.fetchrow(_LOAD, delivery_id)
        if row is None or row["status"] != "pending":
            return
        body = row["body"].encode()
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": "shop-platform-webhooks/1",
            "x-shop-topic": row["topic"],
            "x-shop-domain": f"{row['subdomain']}.{self._config.platform_domain}",
            "x-shop-webhook-id": str(row["webhook_id"]),
            "x-shop-event-id": row["event_key"],
            "x-shop-timestamp": str(timestamp),
            "x-shop-signature": sign(row["secret"], timestamp, body),
        }
        started = datetime.now(UTC)
        clock = time.perf_counter()
        code: int | None = None
        error: str | None = None
        try:
            await check_url(row["url"], self._policy)
            response = await self._http.post(row["url"], content=body, headers=headers)
            code = response.status_code
        except InvalidArgument as exc:
            error = f"refused: {exc.message}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        duration_ms = int((time.perf_counter() - clock) * 1000)
        await self._record(store_id, row, started, duration_ms, code, error)

    async def _record(self, store_id, row, started, duration_ms, code, error) -> None:
        attempt = row["attempts"] + 1
        delivered = code is not None and 200 <= code < 300
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            await conn.execute(
                """INSERT INTO webhook_attempts (store_id, delivery_id, attempt, started_at,
                                                 duration_ms, response_code, error)
                   VALUES ($1, $2, $3, $4, $5, $6, $7)""",
                store_id,
                row["id"],
                attempt,
                started,
                duration_ms,
                code,
                error,
            )
            if delivered:
                status, delay = "delivered", 0.0
            elif attempt >= self._max_attempts:
                status, delay = "failed", 0.0
                log.warning("webhook delivery %s failed after %d attempts", row["id"], attempt)
            else:
                status, delay = "pending", retry_delay(self._config.webhook_retry_base, attempt)
            await conn.execute(
                """UPDATE webhook_deliveries
                   SET status = $2, attempts = $3, leased_until = NULL,
                       next_attempt_at = now() + make_interval(secs => $4)
                   WHERE id = $1""",
                row["id"],
                status,
                attempt,
                delay,
            )
