"""Bounded retry of transactions that PostgreSQL aborted to keep them serializable (40001) or
to break a deadlock (40P01): both are safe to run again from the start."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from services.common.errors import Aborted

T = TypeVar("T")
RETRYABLE = (asyncpg.SerializationError, asyncpg.DeadlockDetectedError)


async def retry_serializable(
    run: Callable[[], Awaitable[T]],
    *,
    attempts: int = 8,
    on_retry: Callable[[], None] = lambda: None,
) -> T:
    for attempt in range(attempts):
        try:
            return await run()
        except RETRYABLE:
            on_retry()
            # Full jitter on a small, growing window: colliding buyers spread out.
            await asyncio.sleep(random.uniform(0, 0.002 * 2**attempt))
    raise Aborted("too much contention on these items right now; retry")
