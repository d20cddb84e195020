"""Outbox relay: publishes committed outbox rows to RabbitMQ, then marks them published.

- Woken by LISTEN outbox (the insert trigger notifies at commit), with a polling fallback;
  OUTBOX_WAKE=poll (Citus: no trigger on the distributed outbox) polls only.
- Publisher confirms, persistent messages, mandatory routing (a returned message is an error:
  the row stays unpublished and is retried), message_id = the event's idempotency key.
- In order per store: rows go out in id order, one at a time; once a store's row fails, that
  store's later rows wait for the next round.
- At most one active relay: a session advisory lock elects the leader; others stand by.
- A crash between publish and mark republishes the row; consumers dedupe on message_id.
Run: python -m services.events.relay"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

import aio_pika
import asyncpg
from aio_pika.abc import AbstractExchange

from services.common.config import Config
from services.common.db import create_pool
from services.common.server import App, run
from services.common.workers import Worker
from services.events import topology
from services.events.config import EventsConfig
from services.events.retention import Reaper, RetentionConfig

log = logging.getLogger(__name__)

LEADER_LOCK = 7_305_001  # pg advisory lock key: "outbox relay"
BATCH = 200
POLL_INTERVAL = 2.0
PRUNE_INTERVAL = 300.0
KEEP_PUBLISHED = "7 days"
BROKER_TIMEOUT = 10.0

_FETCH = """
SELECT store_id, id, exchange, routing_key, idempotency_key, event_type, payload::text AS body,
       headers::text AS headers
FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1
"""
# One statement per store (pipelined by executemany): each names its store, so on Citus it
# runs on that store's shard alone; now(), since volatile functions are refused there.
_MARK_PUBLISHED = """
UPDATE outbox SET published_at = now() WHERE store_id = $1 AND id = ANY ($2::bigint[])
"""
_MARK_FAILED = """
UPDATE outbox SET attempts = attempts + 1, last_error = $3 WHERE store_id = $1 AND id = $2
"""


def _really_cancelled() -> bool:
    """True when this task itself is being cancelled (shutdown), as opposed to a library
    cancelling a future we awaited because its connection died."""
    task = asyncio.current_task()
    return task is None or task.cancelling() > 0


class Relay(Worker):
    name = "outbox-relay"

    def __init__(self, config: EventsConfig) -> None:
        super().__init__()
        self._config = config
        self._db: asyncpg.Connection | None = None
        self._amqp: aio_pika.abc.AbstractConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self.published = 0

    async def close(self) -> None:
        await self._disconnect()

    async def run(self) -> None:
        backoff = 0.5
        while True:
            try:
                await self._connect_db()
                await self._connect_amqp()
                backoff = 0.5
                await self._loop()
            except asyncio.CancelledError:
                if _really_cancelled():
                    raise
                # aiormq cancels its pending futures when the broker drops the connection.
                log.warning("relay interrupted (broker connection lost); reconnecting")
                await self._disconnect()
                await asyncio.sleep(backoff)
            except Exception as exc:
                log.warning("relay interrupted (%s); reconnecting in %.1fs", exc, backoff)
                await self._disconnect()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5)

    async def _disconnect(self) -> None:
        """Drops both connections; the next round starts clean (and re-elects the leader)."""
        if self._amqp is not None:
            with contextlib.suppress(Exception):
                await self._amqp.close()
        self._amqp = None
        self._channel = None
        if self._db is not None and not self._db.is_closed():
            self._db.terminate()
        self._db = None

    async def _connect_db(self) -> None:
        if self._db is not None and not self._db.is_closed():
            return
        db = await asyncpg.connect(self._config.relay_database_url)
        while not await db.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK):
            log.info("another relay holds the outbox; standing by")
            await asyncio.sleep(POLL_INTERVAL)
        if self._config.relay_wake == "notify":
            await db.add_listener("outbox", lambda *_: self.wake())
        self._db = db
        log.info("relay is the active publisher")

    async def _connect_amqp(self) -> None:
        # A plain connection: on any broker trouble the whole round is torn down and rebuilt,
        # which is simpler to reason about than a self-healing connection mid-publish.
        # Bounded: a broker that accepts TCP while still booting must not hang the relay.
        async with asyncio.timeout(BROKER_TIMEOUT):
            self._amqp = await aio_pika.connect(self._config.amqp_url)
            channel = await self._amqp.channel(publisher_confirms=True, on_return_raises=True)
            self._exchanges = await topology.declare(channel)
            self._channel = channel

    async def _loop(self) -> None:
        last_prune = 0.0
        while True:
            # aio-pika's plain Connection does not notice a broker-side close; the channel does.
            if self._channel is None or self._channel.is_closed:
                raise ConnectionError("broker connection closed")
            self._wake.clear()
            sent = await self.publish_batch()
            if time.monotonic() - last_prune > PRUNE_INTERVAL:
                await self._prune()
                last_prune = time.monotonic()
            if sent < BATCH:
                await self.pause(self._config.relay_poll_interval)

    async def publish_batch(self) -> int:
        """Publishes one batch: each store's rows one after another (its order is kept, and a
        refused row holds back that store's later rows), different stores concurrently, so
        confirms overlap instead of costing a round trip each."""
        assert self._db is not None
        rows = await self._db.fetch(_FETCH, BATCH)
        by_store: dict[int, list[asyncpg.Record]] = {}
        for row in rows:
            by_store.setdefault(row["store_id"], []).append(row)
        done: list[asyncpg.Record] = []
        refused: list[tuple[asyncpg.Record, str]] = []

        async def publish_store(store_rows: list[asyncpg.Record]) -> None:
            for row in store_rows:
                try:
                    await self._publish(row)
                except (aio_pika.exceptions.DeliveryError, aio_pika.exceptions.PublishError) as exc:
                    # Unroutable or refused: keep the row, surface it, keep this store in order.
                    refused.append((row, str(exc)[:500]))
                    return
                done.append(row)

        try:
            results = await asyncio.gather(
                *(publish_store(r) for r in by_store.values()), return_exceptions=True
            )
        finally:
            # Mark whatever was confirmed, even if the broker went away mid-batch.
            if done:
                ids: dict[int, list[int]] = {}
                for r in done:
                    ids.setdefault(r["store_id"], []).append(r["id"])
                await self._db.executemany(_MARK_PUBLISHED, list(ids.items()))
                self.published += len(done)
        for row, error in refused:
            log.error(
                "outbox row %s/%s not accepted by the broker: %s; will retry",
                row["store_id"],
                row["id"],
                error,
            )
            await self._db.execute(_MARK_FAILED, row["store_id"], row["id"], error)
        failure = next((r for r in results if isinstance(r, BaseException)), None)
        if failure is not None:
            raise failure  # connection trouble: the caller reconnects
        return len(rows)

    async def _publish(self, row: asyncpg.Record) -> None:
        headers = json.loads(row["headers"])
        headers["store_id"] = str(row["store_id"])
        message = aio_pika.Message(
            body=row["body"].encode(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=row["idempotency_key"],
            type=row["event_type"],
            headers=headers,
        )
        exchange = self._exchanges[row["exchange"]]
        await exchange.publish(
            message, routing_key=row["routing_key"], mandatory=True, timeout=BROKER_TIMEOUT
        )

    async def _prune(self) -> None:
        assert self._db is not None
        deleted = await self._db.execute(
            f"DELETE FROM outbox WHERE published_at < now() - interval '{KEEP_PUBLISHED}'"
        )
        lag = await self._db.fetchval(
            "SELECT extract(epoch FROM now() - min(created_at)) FROM outbox"
            " WHERE published_at IS NULL"
        )
        log.info("outbox pruned (%s); oldest unpublished %.1fs", deleted, lag or 0.0)


def build(_config) -> App:
    relay = Relay(EventsConfig.from_env())
    retention = RetentionConfig.from_env()
    state: dict = {}

    async def start_reaper() -> None:
        # The retention reaper's own role (shop_reaper): expired rows' deletes, nothing else.
        state["pool"] = await create_pool(retention.database_url, 2)
        state["reaper"] = Reaper(state["pool"], retention)
        await state["reaper"].start()

    async def stop_reaper() -> None:
        if "reaper" in state:
            await state["reaper"].stop()
            await state["pool"].close()

    return App(
        config=_config,
        register=lambda server: [],
        on_startup=[relay.start, start_reaper],
        on_shutdown=[relay.stop, stop_reaper],
    )


if __name__ == "__main__":
    run(build, Config.from_env("relay"))
