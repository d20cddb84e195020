"""Start-up wiring shared by the bootstraps: adapters a process opens itself are closed at
shutdown; adapters a caller passed in (a test's pool, an in-memory fake) belong to the caller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import asyncpg
import redis.asyncio as redis

from services.common.db import create_pool

T = TypeVar("T")
Closer = Callable[[], Awaitable[object]]


class Owned:
    def __init__(self) -> None:
        self._closers: list[Closer] = []

    def add(self, closer: Closer) -> None:
        self._closers.append(closer)

    async def pool(self, given: asyncpg.Pool | None, dsn: str, size: int) -> asyncpg.Pool:
        if given is not None:
            return given
        pool = await create_pool(dsn, size)
        self.add(pool.close)
        return pool

    def redis(self, given: redis.Redis | None, url: str) -> redis.Redis:
        if given is not None:
            return given
        client = redis.from_url(url)
        self.add(client.aclose)
        return client

    async def close(self) -> None:
        """Closes in reverse order of opening (workers before the pools they use)."""
        while self._closers:
            await self._closers.pop()()


class Slot(Generic[T]):
    """A value made at start-up (pools need a running loop) and read when servicers are
    registered, which the server skeleton does after the start-up hooks."""

    def __init__(self) -> None:
        self._value: T | None = None

    def set(self, value: T) -> T:
        self._value = value
        return value

    def get(self) -> T:
        if self._value is None:
            raise RuntimeError("read before start-up made it")
        return self._value
