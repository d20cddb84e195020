"""The checkout's storage in PostgreSQL: idempotency records, stock taken and given back, the
order written for a payment — each call inside one store's tenant transaction, every statement
naming its store."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from services.checkout.checkout import stock
from services.checkout.checkout.states import State
from services.checkout.checkout.storage import (
    Claimed,
    OrderNotWritten,
    PaymentsAccount,
    Record,
    ReservedLine,
    Shortage,
)
from services.checkout.checkout.totals_rules import PricingSetup
from services.checkout.orders import repository as orders
from services.checkout.orders.rules import Order
from services.checkout.shipping import repository as shipping
from services.common.db import fetch_one, tenant_transaction
from services.common.dedupe import first_time

_COLUMNS = """id, state, attempt, request::text AS request, created_at,
              reserved_lines::text AS reserved_lines, currency, amount, application_fee,
              payment_account, payment_intent_id, client_secret, intent_requested_at, order_id,
              response, error_code, error_message, finalize_failures, last_error, refund_id,
              pricing::text AS pricing"""


def _lines(raw: str | None) -> tuple[ReservedLine, ...]:
    return tuple(ReservedLine(**line) for line in json.loads(raw)) if raw else ()


def _record(row: asyncpg.Record) -> Record:
    return Record(
        id=row["id"],
        state=State(row["state"]),
        attempt=row["attempt"],
        request=json.loads(row["request"]),
        created_at=row["created_at"],
        reserved_lines=_lines(row["reserved_lines"]),
        currency=row["currency"],
        amount=row["amount"],
        application_fee=row["application_fee"],
        payment_account=row["payment_account"],
        payment_intent_id=row["payment_intent_id"],
        client_secret=row["client_secret"],
        intent_requested_at=row["intent_requested_at"],
        order_id=row["order_id"],
        response=row["response"],
        error_code=row["error_code"],
        error_message=row["error_message"],
        finalize_failures=row["finalize_failures"],
        last_error=row["last_error"],
        refund_id=row["refund_id"],
        pricing=json.loads(row["pricing"]) if row["pricing"] else None,
    )


def _lines_json(lines: tuple[ReservedLine, ...]) -> str | None:
    return json.dumps([line.__dict__ for line in lines]) if lines else None


class PgCheckoutTx:
    def __init__(self, conn: asyncpg.Connection, store_id: int) -> None:
        self._conn = conn
        self.store_id = store_id

    async def insert(
        self, key: str, fingerprint: bytes, request: dict[str, Any], lease_seconds: float
    ) -> Record | None:
        row = await self._conn.fetchrow(
            f"""INSERT INTO checkouts (store_id, idempotency_key, fingerprint, state,
                                       lease_until, request)
                VALUES ($1, $2, $3, 'processing', now() + make_interval(secs => $4),
                        $5::jsonb)
                ON CONFLICT (store_id, idempotency_key) DO NOTHING
                RETURNING {_COLUMNS}""",
            self.store_id,
            key,
            fingerprint,
            lease_seconds,
            json.dumps(request),
        )
        return None if row is None else _record(row)

    async def by_key(self, key: str) -> Claimed:
        # The insert conflicted, so the row exists; FOR UPDATE waits for its writer.
        row = await fetch_one(
            self._conn,
            f"""SELECT {_COLUMNS}, fingerprint, lease_until > now() AS leased
                FROM checkouts WHERE store_id = $1 AND idempotency_key = $2 FOR UPDATE""",
            self.store_id,
            key,
        )
        return Claimed(_record(row), bytes(row["fingerprint"]), row["leased"])

    async def get(self, record_id: uuid.UUID, *, lock: bool = False) -> Record:
        row = await self._conn.fetchrow(
            f"SELECT {_COLUMNS} FROM checkouts WHERE store_id = $1 AND id = $2"
            + (" FOR UPDATE" if lock else ""),
            self.store_id,
            record_id,
        )
        if row is None:
            raise LookupError(record_id)
        return _record(row)

    async def save(self, record: Record, *, lease_seconds: float | None = None) -> None:
        await self._conn.execute(
            """UPDATE checkouts
               SET state = $3, attempt = $4, reserved_lines = $5::jsonb, currency = $6,
                   amount = $7, application_fee = $8, payment_account = $9,
                   payment_intent_id = $10, client_secret = $11, intent_requested_at = $12,
                   order_id = $13, response = $14, error_code = $15, error_message = $16,
                   finalize_failures = $17, last_error = $18, refund_id = $19,
                   pricing = $21::jsonb,
                   lease_until = CASE WHEN $20::float8 IS NULL THEN lease_until
                                      ELSE now() + make_interval(secs => $20) END,
                   updated_at = now()
               WHERE store_id = $1 AND id = $2""",
            self.store_id,
            record.id,
            record.state.value,
            record.attempt,
            _lines_json(record.reserved_lines),
            record.currency,
            record.amount,
            record.application_fee,
            record.payment_account,
            record.payment_intent_id,
            record.client_secret,
            record.intent_requested_at,
            record.order_id,
            record.response,
            record.error_code,
            record.error_message,
            record.finalize_failures,
            record.last_error,
            record.refund_id,
            lease_seconds,
            json.dumps(record.pricing) if record.pricing is not None else None,
        )

    async def take_stock(
        self, wanted: Mapping[uuid.UUID, int]
    ) -> tuple[tuple[ReservedLine, ...], str] | Shortage:
        return await stock.take(self._conn, self.store_id, wanted)

    async def return_stock(self, lines: tuple[ReservedLine, ...]) -> None:
        await stock.give_back(self._conn, self.store_id, lines)

    async def place_order(self, record: Record, payment_intent_id: str) -> Order:
        # A savepoint: a failing insert must not poison the transaction the caller goes on
        # using to record the failure.
        try:
            async with self._conn.transaction():
                return await orders.create_from_checkout(
                    self._conn, self.store_id, record, payment_intent_id
                )
        except (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError) as exc:
            raise OrderNotWritten(f"{type(exc).__name__}: {exc}") from exc

    async def order_for_intent(self, payment_intent_id: str) -> Order | None:
        return await orders.for_intent(self._conn, self.store_id, payment_intent_id)

    async def payments_account(self) -> PaymentsAccount:
        row = await fetch_one(
            self._conn,
            "SELECT stripe_account_id, charges_enabled, plan, status FROM stores WHERE id = $1",
            self.store_id,
        )
        return PaymentsAccount(
            row["stripe_account_id"], row["charges_enabled"], row["plan"], row["status"]
        )

    async def pricing_setup(self, country: str, region: str, rate_id: str) -> PricingSetup:
        return await shipping.setup_for(self._conn, self.store_id, country, region, rate_id)

    async def first_time(self, consumer: str, key: str) -> bool:
        return await first_time(self._conn, self.store_id, consumer, key)


class PgCheckoutStorage:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @asynccontextmanager
    async def transaction(self, store_id: int) -> AsyncIterator[PgCheckoutTx]:
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            yield PgCheckoutTx(conn, store_id)
