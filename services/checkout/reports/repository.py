"""Sales figures from the analytics rollups (written by services/events/consumers/sales.py),
in the store's tenant transaction. PostgreSQL converts between the report's local days and the
UTC quarter hours (AT TIME ZONE), so daylight-saving days come out 23 or 25 hours long."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import asyncpg

from services.checkout.reports.rules import ReportQuery
from services.common.db import tenant_transaction
from services.common.tenancy import require_store_id


@dataclass(frozen=True)
class Figures:
    orders: int = 0
    gross: int = 0
    refunds: int = 0
    units: int = 0


@dataclass(frozen=True)
class TopProductRow:
    product_id: uuid.UUID
    title: str
    units: int
    gross: int


@dataclass(frozen=True)
class ReportData:
    currency: str
    buckets: dict[date, Figures]
    top: list[TopProductRow]


# The period in UTC: local midnight of `from` to local midnight after `to`.
_PERIOD = """r.store_id = $1
  AND r.bucket_start >= ($2::date)::timestamp AT TIME ZONE $4
  AND r.bucket_start < ($3::date + 1)::timestamp AT TIME ZONE $4"""


class SalesReports:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def figures(self, q: ReportQuery) -> ReportData:
        store_id = require_store_id()
        args = (store_id, q.start, q.end, q.time_zone)
        async with tenant_transaction(self._pool, readonly=True) as conn:
            currency = await conn.fetchval("SELECT currency FROM stores WHERE id = $1", store_id)
            rows = await conn.fetch(
                f"""SELECT greatest(date_trunc($5, r.bucket_start AT TIME ZONE $4)::date,
                                    $2::date) AS start,
                           sum(r.orders) AS orders, sum(r.gross_sales) AS gross,
                           sum(r.refunds) AS refunds, sum(r.units) AS units
                    FROM sales_rollups r WHERE {_PERIOD}
                    GROUP BY 1""",
                *args,
                q.granularity,
            )
            top = await conn.fetch(
                f"""SELECT r.product_id, (array_agg(r.title ORDER BY r.bucket_start DESC))[1]
                           AS title, sum(r.units) AS units, sum(r.gross_sales) AS gross
                    FROM sales_product_rollups r WHERE {_PERIOD}
                    GROUP BY r.product_id
                    ORDER BY gross DESC, units DESC, r.product_id
                    LIMIT $5""",
                *args,
                q.top,
            )
        return ReportData(
            currency=str(currency or ""),
            buckets={
                r["start"]: Figures(
                    int(r["orders"]), int(r["gross"]), int(r["refunds"]), int(r["units"])
                )
                for r in rows
            },
            top=[
                TopProductRow(r["product_id"], r["title"], int(r["units"]), int(r["gross"]))
                for r in top
            ],
        )
