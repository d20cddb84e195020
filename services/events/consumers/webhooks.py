"""Merchant webhooks: the consumer turns an event into one pending delivery per subscription
(in the same transaction as its dedupe row), and the delivery worker sends them: signed POST,
5 s timeout, no redirects, every attempt logged, retries with growing delays until the budget is
spent, then `failed` (redeliverable from the admin API).

Each connection goes to an address vetted in the same step (`services.common.pinned_http`), so
DNS rebinding cannot point a delivery at loopback or the private network. The delivery log shows
merchants a generic reason only (`FAILED_NO_RESPONSE`): the raw error text would tell an open
port from a closed or filtered one. Operators get the detail in logs and
`shop_webhook_delivery_failures_total{kind}`."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from services.common.db import tenant_transaction
from services.common.metrics import WEBHOOK_FAILURES
from services.common.pinned_http import TargetRefused, pinned_client
from services.common.ssrf import Resolver, SsrfPolicy, system_resolve
from services.common.webhook_topics import topic_for
from services.common.workers import PeriodicWorker
from services.events.backoff import max_attempts, retry_delay
from services.events.config import EventsConfig
from services.events.consumers.base import Consumer
from services.events.consumers.webhook_claims import DueDeliveries
from services.events.signing import signature_header

log = logging.getLogger(__name__)

LEASE_SECONDS = 60
CLAIM_BATCH = 16
# What merchants read in the delivery log when no HTTP response came back, whatever the cause.
FAILED_NO_RESPONSE = "no response: the connection failed or timed out"


def failure_kind(exc: httpx.HTTPError) -> str:
    """For operators' metrics and logs only."""
    if isinstance(exc, TargetRefused):
        return "refused"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        cause = exc.__cause__
        return "tls" if isinstance(cause, ssl.SSLError) or "SSL" in str(exc) else "connect"
    return "protocol"


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
               SELECT store_id, id, $1, $2, $3::jsonb FROM webhooks
               WHERE store_id = $4 AND topic = $2 AND deleted_at IS NULL
               ON CONFLICT DO NOTHING""",
            event["idempotencyKey"],
            topic,
            json.dumps(event["data"]),
            store_id,
        )

    async def after_commit(self, store_id: int, event: dict[str, Any]) -> None:
        self._worker.wake()


_LOAD = """
SELECT d.id, d.webhook_id, d.event_key, d.topic, d.payload::text AS body, d.status, d.attempts,
       w.url, w.secret, s.subdomain,
       -- The secret a rotation replaced signs too until its overlap ends.
       CASE WHEN w.previous_secret_expires_at > now() THEN w.previous_secret END
         AS previous_secret
FROM webhook_deliveries d
JOIN webhooks w ON w.store_id = d.store_id AND w.id = d.webhook_id
JOIN stores s ON s.id = d.store_id
WHERE d.store_id = $1 AND d.id = $2
"""


class WebhookDeliveryWorker(PeriodicWorker):
    name = "webhook-delivery"
    # Deliveries become due by time too (retries), not only by a consumer's wake-up.
    interval = 0.25

    def __init__(
        self,
        pool: asyncpg.Pool,
        worker_pool: asyncpg.Pool,
        config: EventsConfig,
        *,
        resolve: Resolver = system_resolve,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        super().__init__()
        self._pool = pool
        self._due = DueDeliveries(pool, worker_pool)
        self._config = config
        self._max_attempts = max_attempts(config.webhook_retry_base, config.webhook_retry_budget)
        self._http = pinned_client(
            SsrfPolicy.from_env(), timeout=config.webhook_timeout, resolve=resolve, verify=verify
        )
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
                await self.deliver(store_id, delivery_id)
            except Exception:
                # The lease expires and another pass retries it.
                log.exception("webhook delivery %s crashed", delivery_id)

    async def deliver(self, store_id: int, delivery_id) -> None:
        """One attempt at a pending delivery, logged (the claim's lease keeps others off it)."""
        async with tenant_transaction(self._pool, store_id=store_id, readonly=True) as conn:
            row = await conn.fetchrow(_LOAD, store_id, delivery_id)
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
            "x-shop-signature": signature_header(
                [row["secret"], *filter(None, [row["previous_secret"]])], timestamp, body
            ),
        }
        started = datetime.now(UTC)
        clock = time.perf_counter()
        code: int | None = None
        error: str | None = None
        try:
            response = await self._http.post(row["url"], content=body, headers=headers)
            code = response.status_code
            if not 200 <= code < 300:
                WEBHOOK_FAILURES.labels("http_status").inc()
        except TargetRefused as exc:
            # The merchant's own URL resolves to a non-public address: nothing was connected
            # to, and saying so tells them only what their DNS says.
            WEBHOOK_FAILURES.labels("refused").inc()
            error = f"refused: {exc.reason}"[:500]
        except httpx.HTTPError as exc:
            kind = failure_kind(exc)
            WEBHOOK_FAILURES.labels(kind).inc()
            log.warning("webhook delivery %s (store %s): %s: %s", row["id"], store_id, kind, exc)
            error = FAILED_NO_RESPONSE
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
                   WHERE store_id = $5 AND id = $1 AND status = 'pending'""",
                # (not 'pending': the webhook was deleted meanwhile; it stays cancelled)
                row["id"],
                status,
                attempt,
                delay,
                store_id,
            )
