"""Keeps the edge's routes in step with PostgreSQL.

Changes arrive by LISTEN store_routes (a trigger sends the store id) and are coalesced for a
few milliseconds, so a burst of signups is one update. Closed stores have no routes (the
function leaves them out, so they are dropped at once); suspended ones keep their hosts.

Two modes (EDGE_ROUTES):
- `on_demand` (default): `ChangeFeed` re-reads only the stores that changed and hands them to
  the VHDS provider, which pushes to the Envoys holding one of their hosts. What a dropped
  listener connection missed is read back from the change log (platform.route_changes) since
  the last look: the periodic consistency check costs O(changes), not O(stores).
- `full` (the state-of-the-world fallback): `RouteSync` holds every store's virtual host in a
  RouteTable, publishes the whole route configuration, and re-reads every store periodically.

Either way a lost listener connection is noticed at once (asyncpg's termination callback) and
reconnected with a short back-off, followed by a catch-up, so a PostgreSQL restart delays
route changes by the restart, not by the next periodic pass."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta

import asyncpg

from services.common.workers import PeriodicWorker
from services.store.edge.route_reader import RouteReader
from services.store.edge.routes import RouteTable, StoreRoute, store_hosts
from services.store.edge.vhds import VirtualHostProvider
from services.store.edge.xds import RouteSnapshot

log = logging.getLogger(__name__)

CHANNEL = "store_routes"
# Reconnect back-off after the listener connection drops: first retry at once, then up to 1 s.
_RECONNECT_DELAYS = (0.0, 0.1, 0.2, 0.5, 1.0)


class _ListeningWorker(PeriodicWorker):
    """LISTEN store_routes with coalescing, immediate reconnect, and a catch-up after each
    (re)connect. Subclasses say what a batch of changed store ids does, and what catching up
    means."""

    def __init__(self, control_dsn: str, *, debounce: float, interval: float) -> None:
        super().__init__()
        self._dsn = control_dsn
        self._debounce = debounce
        self.interval = self.initial_delay = interval
        self._pending: set[int] = set()
        self._flush_scheduled = False
        self._listener: asyncpg.Connection | None = None
        self._flush_task: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self._needs_catch_up = False
        self.reconnects = 0

    async def close(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            await self._listener.close()

    async def _listen(self) -> None:
        # LISTEN before loading, so no change falls between the load and the subscription.
        listener = await asyncpg.connect(self._dsn)
        await listener.add_listener(CHANNEL, self._on_notify)
        listener.add_termination_listener(self._on_lost)
        self._listener = listener

    def _on_lost(self, _conn: object) -> None:
        # Wake the loop now: reconnecting at the next periodic pass left a window (issue 19:
        # 11 s after a PostgreSQL restart) in which new stores were not routable.
        log.warning("route listener connection lost; reconnecting")
        self._needs_catch_up = True
        self.wake()

    def _listening(self) -> bool:
        return self._listener is not None and not self._listener.is_closed()

    async def _reconnect(self) -> None:
        attempt = 0
        while not self._listening():
            delay = _RECONNECT_DELAYS[min(attempt, len(_RECONNECT_DELAYS) - 1)]
            if delay:
                await asyncio.sleep(delay)
            attempt += 1
            try:
                await self._listen()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                if attempt % 10 == 1:
                    log.warning("route listener: reconnect failed (%s); retrying", error)
        self.reconnects += 1

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
                await self._apply(ids)
        except Exception:
            log.exception("route update for stores %s failed; the catch-up retries", ids)
            self._needs_catch_up = True
            self.wake()

    async def _apply(self, store_ids: list[int]) -> None:
        raise NotImplementedError

    async def catch_up(self) -> None:
        raise NotImplementedError

    async def run_once(self) -> bool:
        if not self._listening():
            await self._reconnect()
            self._needs_catch_up = True
        self._needs_catch_up = False
        # Right after a reconnect the pool's connections may be dead too: retry briefly rather
        # than waiting a whole interval.
        for delay in (*_RECONNECT_DELAYS, 1.0, 1.0):
            try:
                await self.catch_up()
                break
            except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError) as error:
                log.warning("route catch-up failed (%s); retrying", error)
                await asyncio.sleep(delay or 0.05)
        else:
            await self.catch_up()
        return self._needs_catch_up


class ChangeFeed(_ListeningWorker):
    """On-demand mode: store changes → the VHDS provider, which pushes to the Envoys that hold
    an affected host. No store is read unless it changed or an Envoy asked for it."""

    name = "route-changes"

    def __init__(
        self,
        control_dsn: str,
        reader: RouteReader,
        provider: VirtualHostProvider,
        *,
        debounce: float = 0.005,
        check_interval: float = 30.0,
        # Transactions commit in a different order than their changes were logged: look back
        # this far past the previous check (a transaction open longer can be missed by the
        # check, never by NOTIFY, which is sent at commit).
        look_back: float = 10.0,
        keep_log: float = 24 * 3600.0,
    ) -> None:
        super().__init__(control_dsn, debounce=debounce, interval=check_interval)
        self._reader = reader
        self._provider = provider
        self._look_back = timedelta(seconds=look_back)
        self._keep_log = timedelta(seconds=keep_log)
        self._since: datetime | None = None
        self.checked = 0

    async def start(self) -> None:
        await self._listen()
        self._since = await self._reader.now()
        await super().start()

    async def _apply(self, store_ids: list[int]) -> None:
        routes = await self._reader.routes_of(store_ids)
        changes: dict[int, StoreRoute | None] = {s: routes.get(s) for s in store_ids}
        pushed = self._provider.apply_changes(changes)
        log.debug("route changes for %d stores: %d pushes", len(store_ids), pushed)

    async def catch_up(self) -> None:
        """The consistency check: every store logged as changed since the last check (less the
        look-back), re-read and re-applied; unchanged hosts cost no push."""
        async with self._lock:
            since = self._since or await self._reader.now()
            ids, now = await self._reader.changed_since(since - self._look_back)
            if ids:
                await self._apply(ids)
            self._since = now
            self.checked += 1
            pruned = await self._reader.prune_changes(now - self._keep_log, 1000)
            if pruned:
                log.info("route change log: pruned %d entries", pruned)


class RouteSync(_ListeningWorker):
    """Full mode (state of the world): every store's virtual host in one route configuration."""

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
        super().__init__(control_dsn, debounce=debounce, interval=resync_interval)
        self._pool = control_pool
        self._table = table
        self._snapshot = snapshot
        self._domain = platform_domain

    async def start(self) -> None:
        await self._listen()
        await self.resync()
        await super().start()

    async def _apply(self, ids: list[int]) -> None:
        rows = await self._pool.fetch(
            "SELECT store_id, subdomain, custom_domains, plan, status"
            " FROM platform.store_routes_of($1)",
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

    def _route(self, row: asyncpg.Record) -> StoreRoute:
        return StoreRoute(
            row["store_id"],
            store_hosts(row["subdomain"], row["custom_domains"], self._domain),
            row["plan"],
            suspended=row["status"] == "suspended",
        )

    async def catch_up(self) -> None:
        await self.resync()

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
