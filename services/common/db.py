"""The database pool and the one way to touch tenant data: `tenant_transaction`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal, cast

import asyncpg

from services.common.tenancy import require_store_id

Isolation = Literal["read_committed", "repeatable_read", "serializable"]


def set_tenant_sql(store_id: int) -> str:
    """`SET LOCAL`: the setting dies with the transaction, so a pooled connection can never
    carry one store's id into another store's request. SET LOCAL rather than set_config():
    Citus propagates SET LOCAL (not set_config) to the workers a transaction touches, given
    `citus.propagate_set_commands = 'local'` on the coordinator (k8s/README.md). SET takes no
    bind parameters: the id is an int formatted here, so nothing from a request reaches it."""
    if isinstance(store_id, bool) or not isinstance(store_id, int) or store_id <= 0:
        raise ValueError(f"store id must be a positive integer, not {store_id!r}")
    return f"SET LOCAL app.current_store_id = '{store_id:d}'"


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """Replaces asyncpg's RESET ALL on release (~10% of a short transaction). Nothing tenant-
    related survives a transaction; asyncpg still rolls back any open one before this runs."""


class TenantConnection(asyncpg.Connection):
    """Sends the tenant setting in the same round trip as BEGIN.

    asyncpg's Transaction.start() runs `BEGIN …;` through execute() without arguments (the
    simple-query protocol, which takes several statements). When a store is pending, the
    SET LOCAL rides along, so a tenant transaction costs one round trip less (about 7% of a
    short read) while asyncpg keeps doing all of its own transaction bookkeeping."""

    _pending_store: int | None = None
    # The store of the tenant transaction last begun on this connection (statements name it).
    tenant_store: int | None = None

    def begin_with_store(self, store_id: int) -> None:
        set_tenant_sql(store_id)  # refuses anything but a positive int now, not at BEGIN
        self._pending_store = store_id
        self.tenant_store = store_id

    def end_store(self) -> None:
        self.tenant_store = None

    async def execute(
        self,
        query: str,
        *args: object,
        timeout: float | None = None,  # noqa: ASYNC109 (asyncpg's own signature)
    ) -> str:
        store, self._pending_store = self._pending_store, None
        if store is not None and not args and query.startswith("BEGIN"):
            query = f"{query} {set_tenant_sql(store)};"
        return await super().execute(query, *args, timeout=timeout)


async def create_pool(dsn: str, size: int) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=min(2, size),
        max_size=size,
        reset=_keep_session,
        command_timeout=30,
        server_settings={"application_name": "shop-platform"},
        connection_class=TenantConnection,
    )


@asynccontextmanager
async def tenant_transaction(
    pool: asyncpg.Pool,
    *,
    store_id: int | None = None,
    isolation: Isolation = "read_committed",
    readonly: bool = False,
) -> AsyncIterator[asyncpg.Connection]:
    """A transaction whose first statement sets the store; RLS then decides what rows exist.
    The store defaults to the current request's (fails closed when there is none)."""
    # int(): an id read from a row or a header; anything else is refused by set_tenant_sql.
    sid = int(require_store_id() if store_id is None else store_id)
    async with pool.acquire() as acquired:
        # The pool hands out a proxy that forwards attribute access to its connection.
        conn = cast(asyncpg.Connection, acquired)
        begin_with_store = getattr(conn, "begin_with_store", None)
        if begin_with_store is not None:
            begin_with_store(sid)
        try:
            async with conn.transaction(isolation=isolation, readonly=readonly):
                if begin_with_store is None:  # a pool made elsewhere: one more round trip
                    await conn.execute(set_tenant_sql(sid))
                yield conn
        finally:
            end_store = getattr(conn, "end_store", None)
            if end_store is not None:
                end_store()


async def transaction_store(conn: asyncpg.Connection) -> int:
    """The store the current tenant transaction was opened for, for statements that must name
    it (`store_id = $n`) without their callers passing it along: free on the pool's own
    connections, one query on any other."""
    store = getattr(conn, "tenant_store", None)
    if store is None:
        store = int(await conn.fetchval("SELECT current_setting('app.current_store_id')"))
    return int(store)


async def fetch_one(conn: asyncpg.Connection, query: str, *args: object) -> asyncpg.Record:
    """For a statement that always returns a row (INSERT … RETURNING, a re-read under a lock
    just taken): a missing row is a bug, never a caller's mistake."""
    row = await conn.fetchrow(query, *args)
    if row is None:
        raise LookupError("the statement returned no row")
    return row


_CONNECTION_LOST = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    ConnectionError,
    TimeoutError,
)


def is_connection_loss(exc: BaseException | None) -> bool:
    """A dependency went away mid-call: the same call may succeed on retry. asyncpg reports a
    connection that died inside a transaction as an InterfaceError raised while closing the
    transaction, with the real loss as its context, so look there too."""
    if exc is None:
        return False
    if isinstance(exc, _CONNECTION_LOST):
        return True
    if isinstance(exc, asyncpg.InterfaceError):
        closed = "connection is closed" in str(exc) or "connection was closed" in str(exc)
        return closed or is_connection_loss(exc.__context__)
    return False
