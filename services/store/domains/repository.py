"""Custom domains in PostgreSQL. A store's own domains go through its tenant transaction; the
re-check worker finds due domains of every store through `platform.domains_to_recheck` only,
and writes each outcome back in that store's tenant transaction. Every change to a routed
domain fires NOTIFY store_routes, so the edge follows within milliseconds."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.common import cursor
from services.common.db import fetch_one, tenant_transaction
from services.common.errors import AlreadyExists, FailedPrecondition, NotFound
from services.common.tenancy import require_store_id
from services.store.domains.rules import CustomDomain, Recheck

LIST_KINDS: cursor.Kinds = {"oldest": (datetime, str)}
_COLUMNS = (
    "domain, verification_token, verified_at, is_primary, created_at, last_checked_at,"
    " ssl_provisioned_at, ssl_expires_at"
)


def _domain(row: asyncpg.Record) -> CustomDomain:
    return CustomDomain(
        domain=row["domain"],
        verification_token=row["verification_token"],
        verified_at=row["verified_at"],
        is_primary=row["is_primary"],
        created_at=row["created_at"],
        last_checked_at=row["last_checked_at"],
        ssl_provisioned_at=row["ssl_provisioned_at"],
        ssl_expires_at=row["ssl_expires_at"],
    )


def _not_found(domain: str) -> NotFound:
    return NotFound(f"domain: '{domain}' is not registered on this store")


@dataclass(frozen=True)
class DueDomain:
    store_id: int
    domain: str
    verification_token: str
    failing_since: datetime | None


class DomainRepository:
    def __init__(self, pool: asyncpg.Pool, control_pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._control = control_pool

    async def list(self, size: int, page_token: str) -> tuple[builtins.list[CustomDomain], str]:
        """Oldest first, keyset-paged on (created_at, domain)."""
        after = cursor.decode(page_token, LIST_KINDS, {})[1] if page_token else None
        store_id = require_store_id()
        where = "store_id = $1"
        args: list[object] = [store_id]
        if after is not None:
            where += " AND (created_at, domain) > ($2, $3)"
            args += [after[0], after[1]]
        args.append(size + 1)
        async with tenant_transaction(self._pool, readonly=True) as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM store_domains WHERE {where}"
                f" ORDER BY created_at, domain LIMIT ${len(args)}",
                *args,
            )
        found = [_domain(r) for r in rows[:size]]
        token = ""
        if len(rows) > size:
            token = cursor.encode("oldest", {}, (found[-1].created_at, found[-1].domain))
        return found, token

    async def get(self, domain: str) -> CustomDomain:
        async with tenant_transaction(self._pool, readonly=True) as conn:
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM store_domains WHERE store_id = $2 AND domain = $1",
                domain,
                require_store_id(),
            )
        if row is None:
            raise _not_found(domain)
        return _domain(row)

    async def add(self, store_id: int, domain: str, token: str) -> CustomDomain:
        try:
            async with tenant_transaction(self._pool, store_id=store_id) as conn:
                row = await fetch_one(
                    conn,
                    f"""INSERT INTO store_domains (store_id, domain, verification_token)
                        VALUES ($1, $2, $3) RETURNING {_COLUMNS}""",
                    store_id,
                    domain,
                    token,
                )
        except asyncpg.UniqueViolationError:
            # The unique index spans every store; RLS hides the other row, and so do we: the
            # message is the same whichever store holds the domain, this one included.
            raise AlreadyExists(f"domain: '{domain}' is already registered") from None
        return _domain(row)

    async def mark_verified(self, domain: str) -> CustomDomain:
        async with tenant_transaction(self._pool) as conn:
            row = await conn.fetchrow(
                f"""UPDATE store_domains
                    SET verified_at = coalesce(verified_at, now()), last_checked_at = now(),
                        failing_since = NULL
                    WHERE store_id = $2 AND domain = $1 RETURNING {_COLUMNS}""",
                domain,
                require_store_id(),
            )
        if row is None:
            raise _not_found(domain)
        return _domain(row)

    async def remove(self, domain: str) -> None:
        async with tenant_transaction(self._pool) as conn:
            deleted = await conn.fetchval(
                "DELETE FROM store_domains WHERE store_id = $2 AND domain = $1 RETURNING domain",
                domain,
                require_store_id(),
            )
        if deleted is None:
            raise _not_found(domain)

    async def set_primary(self, domain: str | None) -> None:
        """Makes `domain` (verified) the primary host; None makes the platform host primary."""
        store_id = require_store_id()
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            await conn.execute(
                "UPDATE store_domains SET is_primary = false WHERE store_id = $1 AND is_primary",
                store_id,
            )
            if domain is None:
                return
            row = await conn.fetchrow(
                "SELECT verified_at FROM store_domains WHERE store_id = $2 AND domain = $1"
                " FOR UPDATE",
                domain,
                store_id,
            )
            if row is None:
                raise _not_found(domain)
            if row["verified_at"] is None:
                raise FailedPrecondition(
                    f"domain: '{domain}' is not verified yet; verify it before making it primary"
                )
            await conn.execute(
                "UPDATE store_domains SET is_primary = true WHERE store_id = $2 AND domain = $1",
                domain,
                store_id,
            )

    async def due_for_recheck(
        self, checked_before: datetime, limit: int
    ) -> builtins.list[DueDomain]:
        rows = await self._control.fetch(
            "SELECT store_id, domain, verification_token, failing_since"
            " FROM platform.domains_to_recheck($1, $2)",
            checked_before,
            limit,
        )
        return [DueDomain(**dict(r)) for r in rows]

    async def record_recheck(self, store_id: int, domain: str, outcome: Recheck) -> None:
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            if outcome.unverify:
                # Touches verified_at: the route trigger fires and the edge drops the domain.
                await conn.execute(
                    """UPDATE store_domains
                       SET verified_at = NULL, is_primary = false, last_checked_at = now(),
                           failing_since = $2
                       WHERE store_id = $3 AND domain = $1 AND verified_at IS NOT NULL""",
                    domain,
                    outcome.failing_since,
                    store_id,
                )
            else:
                # Bookkeeping only: no route changes, so no NOTIFY and no push.
                await conn.execute(
                    """UPDATE store_domains SET last_checked_at = now(), failing_since = $2
                       WHERE store_id = $3 AND domain = $1 AND verified_at IS NOT NULL""",
                    domain,
                    outcome.failing_since,
                    store_id,
                )
