"""Every store, as the operator API sees it (shop_ops role): one store by id, or keyset pages
filtered by subdomain prefix, custom domain, owner email, status or plan. The role may read
`stores` and `store_domains` across stores and nothing else; it changes a store only through
services.store.lifecycle, inside that store's tenant transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.common.errors import NotFound
from services.store.lifecycle.repository import COLUMNS, lifecycle_of
from services.store.lifecycle.rules import Lifecycle
from services.store.operators.rules import StoreQuery, encode_page_token


@dataclass(frozen=True)
class StoreRecord:
    id: int
    name: str
    subdomain: str
    owner_email: str
    currency: str
    created_at: datetime
    charges_enabled: bool
    lifecycle: Lifecycle
    custom_domains: tuple[str, ...]


_SELECT = f"""
SELECT s.id, s.name, s.subdomain, s.owner_email, s.currency, s.created_at, s.charges_enabled,
       {", ".join(f"s.{c.strip()}" for c in COLUMNS.split(","))},
       ARRAY(SELECT d.domain FROM store_domains d
             WHERE d.store_id = s.id AND d.verified_at IS NOT NULL ORDER BY d.domain)
           AS custom_domains
FROM stores s
"""


def _record(row: asyncpg.Record) -> StoreRecord:
    return StoreRecord(
        id=row["id"],
        name=row["name"],
        subdomain=row["subdomain"],
        owner_email=row["owner_email"],
        currency=row["currency"],
        created_at=row["created_at"],
        charges_enabled=row["charges_enabled"],
        lifecycle=lifecycle_of(row),
        custom_domains=tuple(row["custom_domains"]),
    )


class StoreDirectory:
    def __init__(self, ops_pool: asyncpg.Pool) -> None:
        self._pool = ops_pool

    async def get(self, store_id: int) -> StoreRecord:
        row = await self._pool.fetchrow(_SELECT + "WHERE s.id = $1", store_id)
        if row is None:
            raise NotFound(f"store '{store_id}' not found")
        return _record(row)

    async def page(self, query: StoreQuery, after_id: int | None) -> tuple[list[StoreRecord], str]:
        rows = await self._pool.fetch(
            _SELECT
            + """WHERE ($1::bigint IS NULL OR s.id > $1)
                   AND ($2::text IS NULL OR s.subdomain LIKE $2 || '%')
                   AND ($3::text IS NULL OR s.id IN (
                        SELECT d.store_id FROM store_domains d WHERE d.domain = $3))
                   AND ($4::text IS NULL OR lower(s.owner_email) = lower($4))
                   AND ($5::text IS NULL OR s.status = $5)
                   AND ($6::text IS NULL OR s.plan = $6)
                 ORDER BY s.id LIMIT $7""",
            after_id,
            # Only a-z, 0-9 and '-' (rules): nothing LIKE would read as a wildcard.
            query.subdomain_prefix,
            query.domain,
            query.owner_email,
            None if query.status is None else query.status.value,
            query.plan,
            query.page_size + 1,
        )
        found = [_record(r) for r in rows[: query.page_size]]
        more = len(rows) > query.page_size
        return found, encode_page_token(found[-1].id, query.filters()) if more else ""
