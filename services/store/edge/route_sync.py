"""Keeps the RouteTable in step with PostgreSQL and publishes it to the xDS snapshot.

Changes arrive by LISTEN store_routes (a trigger sends the store id) and are coalesced for a
few milliseconds, so a burst of signups is one push. Closed stores have no routes (the function
leaves them out, so they are dropped at once); suspended ones keep their hosts. A periodic full
resync covers anything a dropped listener connection missed."""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg

from services.common.workers import PeriodicWorker
from services.store.edge.routes import RouteTable, StoreRoute, store_hosts
from services.store.edge.xds import RouteSnapshot

log = logging.getLogger(__name__)

CHANNEL = "store_routes"


class RouteSync(PeriodicWorker):
    name = "route-sync"

    def __init__(
        self,
        control_dsn: str,
        control_pool: asyncpg.Pool,
        table: RouteTable,
        snapshot: RouteSnapshot,
        platform_domain: str,
        *,
        debounce: float = 0.02,
        resync_interval: float = 30.0,
    ) -> None:
        super().__init__()
        self._dsn = control_dsn
        self._pool = control_pool
        self._table = table
        self._snapshot = snapshot
        self._domain = platform_domain
        self._debounce = debounce
        # A periodic full resync covers anything a dropped listener connection missed.
        self.interval = self.initial_delay = resync_interval
        self._pending: set[int] = set()
        self._flush_scheduled = False
        self._listener: asyncpg.Connection | None = None
        self._flush_task: asyncio.Task | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        await self._listen()
        await self.resync()
        await super().start()

    async def close(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            await self._listener.close()

    async def _listen(self) -> None:
        # LISTEN before loading, so no change falls between the load and the subscription.
        self._listener = await asyncpg.connect(self._dsn)
        await self._listener.add_listener(CHANNEL, self._on_notify)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        payload = str(payload)
        if payload.isdigit():
            self._pending.add(int(payload))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_later(self._debounce, self._start_flush)

    def _start_flush(self) -> None:
        # Keep a reference: the loop holds tasks only weakly.
        self._flush_task = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        self._flush_scheduled = False
        ids, self._pending = sorted(self._pending), set()
        if not ids:
            return
        try:
            async with self._lock:
                rows = await self._pool.fetch(
                    "SELECT store_id, subdomain, custom_domains, plan, status"
                    " FROM platform.store_routes($1)",
                    ids,
                )
                found = {row["store_id"]: row for row in rows}
                changed = False
                for store_id in ids:
                    row = found.get(store_id)
                    if row is None:
                        changed |= self._table.remove(store_id)
                    else:
                        changed |= self._table.upsert(self._route(row))
                if changed:
                    await self._publish()
        except Exception:
            log.exception("route update for stores %s failed; next resync retries", ids)

    def _route(self, row: asyncpg.Record) -> StoreRoute:
        return StoreRoute(
            row["store_id"],
            store_hosts(row["subdomain"], row["custom_domains"], self._domain),
            row["plan"],
            suspended=row["status"] == "suspended",
        )

    async def resync(self) -> None:
        async with self._lock:
            started = time.perf_counter()
            rows = await self._pool.fetch(
                "SELECT store_id, subdomain, custom_domains, plan, status"
                " FROM platform.store_routes(NULL)"
            )
            changed = False
            seen = set()
            for row in rows:
                seen.add(row["store_id"])
                changed |= self._table.upsert(self._route(row))
            for store_id in [s for s in self._table.store_ids() if s not in seen]:
                changed |= self._table.remove(store_id)
            if changed or self._snapshot.version == 0:
                await self._publish()
            log.info(
                "route resync: %d stores in %.0f ms",
                len(rows),
                (time.perf_counter() - started) * 1e3,
            )

    async def _publish(self) -> None:
        version = await self._snapshot.publish(self._table.serialize())
        log.debug("routes version %d published (%d stores)", version, len(self._table))

    async def run_once(self) -> bool:
        if self._listener is None or self._listener.is_closed():
            log.warning("route listener connection lost; reconnecting")
            await self._listen()
        await self.resync()
        return False
