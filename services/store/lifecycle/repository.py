"""A store's status and plan in PostgreSQL, changed inside that store's tenant transaction under
a row lock, whoever asks: the merchant (shop_app) closing their own store, or an operator
(shop_ops) through the operator API, whose audit row is written in the same transaction.

Every change to status or plan fires NOTIFY store_routes (a trigger), so the edge follows in
well under a second: a suspended store's virtual host answers "unavailable", a closed store's
hosts are dropped, a plan change moves the store to the plan's token bucket."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg

from services.common.db import tenant_transaction
from services.common.errors import NotFound
from services.store.lifecycle.rules import Lifecycle, Status

COLUMNS = "status, plan, status_reason, suspended_at, closed_at, erase_after, erase_started_at"

# Runs in the change's transaction with the store before and after (e.g. the audit row).
AfterChange = Callable[[asyncpg.Connection, Lifecycle, Lifecycle], Awaitable[None]]


def lifecycle_of(row: asyncpg.Record) -> Lifecycle:
    return Lifecycle(
        status=Status(row["status"]),
        plan=row["plan"],
        status_reason=row["status_reason"],
        suspended_at=row["suspended_at"],
        closed_at=row["closed_at"],
        erase_after=row["erase_after"],
        erase_started_at=row["erase_started_at"],
    )


class LifecycleRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def change(
        self,
        store_id: int,
        decide: Callable[[Lifecycle], Lifecycle],
        after: AfterChange | None = None,
    ) -> tuple[Lifecycle, Lifecycle]:
        """Locks the store's row, lets `decide` turn its state into the next one (raising a
        domain error to refuse), writes it if it changed, then runs `after`."""
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            row = await conn.fetchrow(
                f"SELECT {COLUMNS} FROM stores WHERE id = $1 FOR UPDATE", store_id
            )
            if row is None:
                raise NotFound(f"store '{store_id}' not found")
            before = lifecycle_of(row)
            changed = decide(before)
            if changed != before:
                await conn.execute(
                    """UPDATE stores
                       SET status = $2, plan = $3, status_reason = $4, suspended_at = $5,
                           closed_at = $6, erase_after = $7, updated_at = now()
                       WHERE id = $1""",
                    store_id,
                    changed.status.value,
                    changed.plan,
                    changed.status_reason,
                    changed.suspended_at,
                    changed.closed_at,
                    changed.erase_after,
                )
            if after is not None:
                await after(conn, before, changed)
        return before, changed
