"""SQL as the admin (superuser) role of a bench database, for set-up and read-outs: RLS does
not apply to it. Never on a measured path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg


@asynccontextmanager
async def connect(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(dsn)
    try:
        yield conn
    finally:
        await conn.close()


async def fetchval(dsn: str, sql: str, *args: object) -> Any:
    async with connect(dsn) as conn:
        return await conn.fetchval(sql, *args)


def scalar(dsn: str, sql: str, *args: object) -> Any:
    """fetchval() from synchronous code."""
    return asyncio.run(fetchval(dsn, sql, *args))


def execute(dsn: str, sql: str, *args: object) -> None:
    """One statement, from synchronous code."""

    async def run() -> None:
        async with connect(dsn) as conn:
            await conn.execute(sql, *args)

    asyncio.run(run())


async def server_major(dsn: str) -> int:
    return int(await fetchval(dsn, "SHOW server_version_num")) // 10000
