"""Webhook subscriptions and their delivery log, in the store's tenant transactions.

A deleted webhook stays as a tombstone (`deleted_at`): hidden from ListWebhooks, its pending
deliveries cancelled in the same transaction and still listed by ListDeliveries, until the
retention reaper removes them. A rotation keeps the replaced secret signing until its overlap
ends."""

from __future__ import annotations

import builtins
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.common import cursor
from services.common.db import fetch_one, tenant_transaction
from services.common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from services.common.ids import parse_uuid
from services.common.ssrf import Resolver, SsrfPolicy, check_url, system_resolve
from services.common.tenancy import require_store_id
from services.common.webhook_topics import TOPICS
from services.store.webhooks.rules import DEFAULT_OVERLAP_SECONDS, overlap_seconds

MAX_WEBHOOKS_PER_STORE = 50
OLDEST: cursor.Kinds = {"oldest": (datetime, uuid.UUID)}
NEWEST: cursor.Kinds = {"newest": (datetime, uuid.UUID)}


@dataclass(frozen=True)
class WebhookRow:
    id: uuid.UUID
    topic: str
    url: str
    created_at: datetime
    previous_secret_expires_at: datetime | None = None


@dataclass(frozen=True)
class AttemptRow:
    attempt: int
    started_at: datetime
    duration_ms: int
    response_code: int | None
    error: str | None


@dataclass(frozen=True)
class DeliveryRow:
    id: uuid.UUID
    webhook_id: uuid.UUID
    event_key: str
    topic: str
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    attempt_log: tuple[AttemptRow, ...]


_DELIVERY_SELECT = """
SELECT d.id, d.webhook_id, d.event_key, d.topic, d.status, d.attempts, d.next_attempt_at,
       d.created_at,
       ARRAY(SELECT ROW(a.attempt, a.started_at, a.duration_ms, a.response_code, a.error)
             FROM webhook_attempts a
             WHERE a.store_id = d.store_id AND a.delivery_id = d.id ORDER BY a.attempt)
         AS attempt_log
FROM webhook_deliveries d
"""


def _delivery(row: asyncpg.Record) -> DeliveryRow:
    return DeliveryRow(
        id=row["id"],
        webhook_id=row["webhook_id"],
        event_key=row["event_key"],
        topic=row["topic"],
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        created_at=row["created_at"],
        attempt_log=tuple(AttemptRow(*a) for a in row["attempt_log"]),
    )


# The previous secret's end shows only while it still signs.
_WEBHOOK_COLUMNS = """id, topic, url, created_at,
    CASE WHEN previous_secret_expires_at > now() THEN previous_secret_expires_at
    END AS previous_secret_expires_at"""


class WebhookRepository:
    def __init__(
        self,
        pool: asyncpg.Pool,
        policy: SsrfPolicy,
        resolve: Resolver = system_resolve,
        default_overlap: int = DEFAULT_OVERLAP_SECONDS,
    ) -> None:
        self._pool = pool
        self._policy = policy
        self._resolve = resolve
        self._default_overlap = default_overlap

    async def create(self, topic: str, url: str) -> tuple[WebhookRow, str]:
        if topic not in TOPICS:
            raise InvalidArgument.field("topic", f"must be one of {sorted(TOPICS)}")
        url = await check_url(url, self._policy, self._resolve)
        secret = secrets.token_urlsafe(32)
        async with tenant_transaction(self._pool) as conn:
            count = await conn.fetchval(
                "SELECT count(*) FROM webhooks WHERE store_id = $1 AND deleted_at IS NULL",
                require_store_id(),
            )
            if count >= MAX_WEBHOOKS_PER_STORE:
                raise InvalidArgument.field(
                    "url", f"a store may have at most {MAX_WEBHOOKS_PER_STORE} webhooks"
                )
            row = await conn.fetchrow(
                """INSERT INTO webhooks (store_id, topic, url, secret)
                   VALUES ($4, $1, $2, $3)
                   ON CONFLICT (store_id, topic, url) WHERE deleted_at IS NULL DO NOTHING
                   RETURNING id, topic, url, created_at""",
                topic,
                url,
                secret,
                require_store_id(),
            )
        if row is None:
            raise AlreadyExists(f"url: already subscribed to {topic}")
        return WebhookRow(**dict(row)), secret

    async def list(self, size: int, page_token: str) -> tuple[builtins.list[WebhookRow], str]:
        """Oldest first, keyset-paged on (created_at, id)."""
        after = cursor.decode(page_token, OLDEST, {})[1] if page_token else None
        where = "store_id = $1 AND deleted_at IS NULL"
        args: list[object] = [require_store_id()]
        if after is not None:
            where += " AND (created_at, id) > ($2, $3)"
            args += [after[0], after[1]]
        args.append(size + 1)
        async with tenant_transaction(self._pool, readonly=True) as conn:
            rows = await conn.fetch(
                f"SELECT {_WEBHOOK_COLUMNS} FROM webhooks WHERE {where}"
                f" ORDER BY created_at, id LIMIT ${len(args)}",
                *args,
            )
        found = [WebhookRow(**dict(r)) for r in rows[:size]]
        token = ""
        if len(rows) > size:
            token = cursor.encode("oldest", {}, (found[-1].created_at, found[-1].id))
        return found, token

    async def rotate_secret(self, webhook_id: str, overlap: int | None) -> tuple[WebhookRow, str]:
        """A new secret; the current one keeps signing for `overlap` seconds. Rotating again
        inside a window drops the older secret at once (at most two sign)."""
        wid = parse_uuid(webhook_id, "id")
        seconds = overlap_seconds(overlap, self._default_overlap)
        secret = secrets.token_urlsafe(32)
        async with tenant_transaction(self._pool) as conn:
            row = await conn.fetchrow(
                f"""UPDATE webhooks
                    SET previous_secret = CASE WHEN $3 > 0 THEN secret END,
                        previous_secret_expires_at =
                          CASE WHEN $3 > 0 THEN now() + make_interval(secs => $3) END,
                        secret = $4, secret_rotated_at = now()
                    WHERE store_id = $1 AND id = $2 AND deleted_at IS NULL
                    RETURNING {_WEBHOOK_COLUMNS}""",
                require_store_id(),
                wid,
                float(seconds),
                secret,
            )
        if row is None:
            raise NotFound("no webhook with this id in this store")
        return WebhookRow(**dict(row)), secret

    async def delete(self, webhook_id: str) -> int:
        """Tombstones the webhook and cancels its pending deliveries; returns how many."""
        wid = parse_uuid(webhook_id, "id")
        store_id = require_store_id()
        async with tenant_transaction(self._pool) as conn:
            deleted = await conn.fetchval(
                """UPDATE webhooks SET deleted_at = now(), previous_secret = NULL,
                          previous_secret_expires_at = NULL
                   WHERE store_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING 1""",
                store_id,
                wid,
            )
            if not deleted:
                raise NotFound("no webhook with this id in this store")
            status = await conn.execute(
                """UPDATE webhook_deliveries SET status = 'cancelled', leased_until = NULL
                   WHERE store_id = $1 AND webhook_id = $2 AND status = 'pending'""",
                store_id,
                wid,
            )
        return int(status.split()[-1])

    async def deliveries(
        self, webhook_id: str, page_size: int, page_token: str
    ) -> tuple[builtins.list[DeliveryRow], str]:
        wid = parse_uuid(webhook_id, "webhook_id")
        filters = {"webhook": str(wid)}
        after = cursor.decode(page_token, NEWEST, filters)[1] if page_token else None
        async with tenant_transaction(self._pool, readonly=True) as conn:
            # A deleted webhook's log stays readable (its cancelled deliveries).
            store_id = require_store_id()
            if not await conn.fetchval(
                "SELECT 1 FROM webhooks WHERE store_id = $1 AND id = $2", store_id, wid
            ):
                raise NotFound("no webhook with this id in this store")
            if after is None:
                rows = await conn.fetch(
                    _DELIVERY_SELECT + "WHERE d.store_id = $3 AND d.webhook_id = $1 "
                    "ORDER BY d.created_at DESC, d.id DESC LIMIT $2",
                    wid,
                    page_size + 1,
                    store_id,
                )
            else:
                rows = await conn.fetch(
                    _DELIVERY_SELECT + "WHERE d.store_id = $5 AND d.webhook_id = $1"
                    " AND (d.created_at, d.id) < ($2, $3) "
                    "ORDER BY d.created_at DESC, d.id DESC LIMIT $4",
                    wid,
                    after[0],
                    after[1],
                    page_size + 1,
                    store_id,
                )
        page = [_delivery(r) for r in rows[:page_size]]
        token = ""
        if len(rows) > page_size:
            token = cursor.encode("newest", filters, (page[-1].created_at, page[-1].id))
        return page, token

    async def redeliver(self, delivery_id: str) -> DeliveryRow:
        did = parse_uuid(delivery_id, "id")
        store_id = require_store_id()
        async with tenant_transaction(self._pool) as conn:
            live = await conn.fetchval(
                """SELECT w.deleted_at IS NULL FROM webhook_deliveries d
                   JOIN webhooks w ON w.store_id = d.store_id AND w.id = d.webhook_id
                   WHERE d.store_id = $1 AND d.id = $2""",
                store_id,
                did,
            )
            if live is None:
                raise NotFound("no webhook delivery with this id in this store")
            if not live:
                raise FailedPrecondition("this delivery's webhook was deleted; it cannot be sent")
            await conn.execute(
                """UPDATE webhook_deliveries
                   SET status = 'pending', next_attempt_at = now(),
                       leased_until = NULL
                   WHERE store_id = $1 AND id = $2""",
                store_id,
                did,
            )
            row = await fetch_one(
                conn, _DELIVERY_SELECT + "WHERE d.store_id = $2 AND d.id = $1", did, store_id
            )
        return _delivery(row)
