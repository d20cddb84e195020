"""Idempotency records: one per (store, Idempotency-Key), holding the request's fingerprint,
the phase reached (the recovery point) and, once final, the exact response."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.common.db import fetch_one
from services.common.errors import Aborted, FailedPrecondition, InvalidArgument

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Record:
    id: uuid.UUID
    state: str
    attempt: int
    request: dict[str, Any]
    reserved_lines: list[dict[str, Any]] | None
    currency: str | None
    amount: int | None
    payment_intent_id: str | None
    client_secret: str | None
    order_id: uuid.UUID | None
    response: bytes | None
    error_code: int | None
    error_message: str | None


def check_key(key: str | None) -> str:
    if not key or not key.strip():
        raise InvalidArgument.field(
            "idempotency-key", "send an Idempotency-Key header (1 to 255 characters)"
        )
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidArgument.field("idempotency-key", "must be at most 255 characters")
    return key


def fingerprint(request: dict[str, Any]) -> bytes:
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).digest()


_COLUMNS = """id, state, attempt, request::text AS request, reserved_lines::text AS reserved_lines,
              currency, amount, payment_intent_id, client_secret, order_id, response, error_code,
              error_message"""


def _record(row: asyncpg.Record) -> Record:
    return Record(
        id=row["id"],
        state=row["state"],
        attempt=row["attempt"],
        request=json.loads(row["request"]),
        reserved_lines=json.loads(row["reserved_lines"]) if row["reserved_lines"] else None,
        currency=row["currency"],
        amount=row["amount"],
        payment_intent_id=row["payment_intent_id"],
        client_secret=row["client_secret"],
        order_id=row["order_id"],
        response=row["response"],
        error_code=row["error_code"],
        error_message=row["error_message"],
    )


async def load(
    conn: asyncpg.Connection, store_id: int, record_id: uuid.UUID, *, lock: bool = False
) -> Record:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM checkouts WHERE store_id = $1 AND id = $2"
        + (" FOR UPDATE" if lock else ""),
        store_id,
        record_id,
    )
    if row is None:
        raise LookupError(record_id)
    return _record(row)


async def claim(
    conn: asyncpg.Connection, store_id: int, key: str, request: dict[str, Any], lease_seconds: int
) -> Record:
    """The record to work on, or the finished one to replay (state 'completed'). Refuses a
    different request under the same key, and a key whose first request is still running."""
    digest = fingerprint(request)
    row = await conn.fetchrow(
        f"""INSERT INTO checkouts (store_id, idempotency_key, fingerprint, state, lease_until,
                                   request)
            VALUES ($1, $2, $3, 'processing', clock_timestamp() + make_interval(secs => $4),
                    $5::jsonb)
            ON CONFLICT (store_id, idempotency_key) DO NOTHING
            RETURNING {_COLUMNS}""",
        store_id,
        key,
        digest,
        lease_seconds,
        json.dumps(request),
    )
    if row is not None:
        return _record(row)
    # The insert above conflicted, so the row exists; FOR UPDATE waits for its writer.
    row = await fetch_one(
        conn,
        f"""SELECT {_COLUMNS}, fingerprint, lease_until > clock_timestamp() AS leased
            FROM checkouts WHERE store_id = $1 AND idempotency_key = $2 FOR UPDATE""",
        store_id,
        key,
    )
    if bytes(row["fingerprint"]) != digest:
        raise FailedPrecondition(
            "this Idempotency-Key was already used for a different checkout request; use a new"
            " key for a new request"
        )
    record = _record(row)
    if record.state in ("completed", "requires_action"):
        return record
    if record.state == "failed":
        # The earlier attempt ended in a retryable failure: start over under the same key.
        updated = await fetch_one(
            conn,
            f"""UPDATE checkouts SET state = 'processing', attempt = attempt + 1,
                       lease_until = clock_timestamp() + make_interval(secs => $2),
                       reserved_lines = NULL, amount = NULL, payment_intent_id = NULL,
                       client_secret = NULL, error_code = NULL, error_message = NULL,
                       updated_at = clock_timestamp()
                WHERE store_id = $3 AND id = $1 RETURNING {_COLUMNS}""",
            record.id,
            lease_seconds,
            store_id,
        )
        return _record(updated)
    if row["leased"]:
        raise Aborted(
            "a checkout with this Idempotency-Key is still in progress; retry in a moment"
        )
    # The previous worker stopped mid-way (crash, timeout): take over from its recovery point.
    await extend_lease(conn, store_id, record.id, lease_seconds)
    return record


async def extend_lease(
    conn: asyncpg.Connection, store_id: int, record_id: uuid.UUID, seconds: float
) -> None:
    await conn.execute(
        """UPDATE checkouts SET lease_until = clock_timestamp() + make_interval(secs => $3),
                  updated_at = clock_timestamp() WHERE store_id = $1 AND id = $2""",
        store_id,
        record_id,
        seconds,
    )


async def set_state(
    conn: asyncpg.Connection, store_id: int, record_id: uuid.UUID, state: str, **fields: Any
) -> None:
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(fields, 4))
    await conn.execute(
        f"UPDATE checkouts SET state = $3{', ' + assignments if fields else ''},"
        " updated_at = clock_timestamp() WHERE store_id = $1 AND id = $2",
        store_id,
        record_id,
        state,
        *fields.values(),
    )
