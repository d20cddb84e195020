"""Background workers: one start/stop/wake life cycle for every loop a process runs beside its
gRPC server (checkout recovery, webhook deliveries, domain re-checks, route sync, the relay).

A worker's loop must survive its own failures (a pass that raises is logged and the loop goes
on) but never its own cancellation, so `stop()` always ends it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod

log = logging.getLogger(__name__)


class Worker(ABC):
    """A task started with the process and cancelled at shutdown."""

    #: Shown in logs and as the task's name.
    name: str = "worker"

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.close()

    async def close(self) -> None:  # noqa: B027 (an optional hook)
        """Releases what the worker holds once its loop has stopped (clients, connections)."""

    def wake(self) -> None:
        """Ends the current pause early: there is work (e.g. a consumer just queued some)."""
        self._wake.set()

    async def pause(self, seconds: float) -> None:
        """Sleeps up to `seconds`, or until `wake()`."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    @abstractmethod
    async def run(self) -> None:
        """The loop; runs until cancelled."""


class PeriodicWorker(Worker):
    """Runs `run_once()` again and again: at once while it reports a full batch, otherwise after
    `interval` seconds (or a `wake()`)."""

    interval: float = 1.0
    #: Pause before the first pass (e.g. let the process finish starting).
    initial_delay: float = 0.0

    async def run(self) -> None:
        if self.initial_delay:
            await self.pause(self.initial_delay)
        while True:
            self._wake.clear()
            try:
                more = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: pass failed; next in %.2fs", self.name, self.interval)
                more = False
            if not more:
                await self.pause(self.interval)

    @abstractmethod
    async def run_once(self) -> bool:
        """One pass; True when there is more to do right away (a full batch was handled)."""
