"""The control plane's reads of store routes (shop_control, through platform.* functions):
by store id (changes), by host (an Envoy's on-demand request) and the change log."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from services.store.edge.routes import StoreRoute, store_hosts

_COLUMNS = "store_id, subdomain, custom_domains, plan, status"


class RouteReader:
    def __init__(self, pool: asyncpg.Pool, platform_domain: str) -> None:
        self._pool = pool
        self._domain = platform_domain
        self._suffix = "." + platform_domain

    def route(self, row: asyncpg.Record) -> StoreRoute:
        return StoreRoute(
            row["store_id"],
            store_hosts(row["subdomain"], row["custom_domains"], self._domain),
            row["plan"],
            suspended=row["status"] == "suspended",
        )

    async def routes_of(self, store_ids: list[int]) -> dict[int, StoreRoute]:
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM platform.store_routes_of($1)", store_ids
        )
        return {row["store_id"]: self.route(row) for row in rows}

    async def routes_by_host(self, hosts: set[str]) -> dict[str, StoreRoute]:
        """Hosts are lower-case. `<sub>.<platform domain>` is looked up as a subdomain (one
        label only), anything else as a verified custom domain."""
        subdomains: dict[str, str] = {}
        domains: list[str] = []
        for host in hosts:
            if host.endswith(self._suffix):
                label = host[: -len(self._suffix)]
                if label and "." not in label:
                    subdomains[label] = host
            else:
                domains.append(host)
        if not subdomains and not domains:
            return {}
        rows = await self._pool.fetch(
            f"SELECT host_key, {_COLUMNS} FROM platform.store_routes_by_host($1, $2)",
            list(subdomains),
            domains,
        )
        found: dict[str, StoreRoute] = {}
        for row in rows:
            host = subdomains.get(row["host_key"], row["host_key"])
            if host in hosts:
                found[host] = self.route(row)
        return found

    async def changed_since(self, since: datetime) -> tuple[list[int], datetime]:
        """Stores with a route change logged after `since`, and the database's clock now (the
        next call's `since`)."""
        async with self._pool.acquire() as conn:
            now = await conn.fetchval("SELECT clock_timestamp()")
            rows = await conn.fetch(
                "SELECT DISTINCT store_id FROM platform.route_changes WHERE changed_at > $1",
                since,
            )
        return [row["store_id"] for row in rows], now

    async def now(self) -> datetime:
        return await self._pool.fetchval("SELECT clock_timestamp()")

    async def prune_changes(self, before: datetime, limit: int) -> int:
        return await self._pool.fetchval(
            "SELECT platform.prune_route_changes($1, $2)", before, limit
        )
