"""The one way tests wait for something the platform does in the background (a route push, an
email, a webhook, a worker's pass): poll a check until it holds or a deadline passes, then fail
saying what was awaited. The async form sleeps with asyncio, so it never blocks the loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(
    check: Callable[[], T], *, within: float = 5.0, what: str = "condition", every: float = 0.02
) -> T:
    """The first truthy value `check()` returns within `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        time.sleep(every)


async def eventually_async(
    check: Callable[[], Awaitable[T]],
    *,
    within: float = 5.0,
    what: str = "condition",
    every: float = 0.05,
) -> T:
    """The first truthy value `await check()` gives within `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(every)


def seconds_until(
    check: Callable[[], object], *, within: float, what: str, every: float = 0.01
) -> float:
    """How long `check()` took to become truthy (for tests that report a delay)."""
    started = time.monotonic()
    eventually(check, within=within, what=what, every=every)
    return time.monotonic() - started
