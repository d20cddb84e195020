"""argon2id password hashing (argon2-cffi), off the event loop and bounded.

A hash costs tens of milliseconds of CPU and `memory_kib` of memory on purpose. Hashes run in
a pool of `workers` threads (argon2-cffi releases the GIL), so the event loop keeps serving
while a sign-in hashes, and a burst of sign-ins queues for the pool instead of taking every
core and `burst * memory_kib` of memory. Unknown emails are verified against a dummy hash of
the same parameters, so they cost the same time as a wrong password."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from services.checkout.customers.settings import Argon2Settings

T = TypeVar("T")


class PasswordHasher:
    def __init__(self, settings: Argon2Settings) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=settings.time_cost,
            memory_cost=settings.memory_kib,
            parallelism=settings.parallelism,
            type=argon2.Type.ID,
        )
        self._pool = ThreadPoolExecutor(settings.workers, thread_name_prefix="argon2")
        # Verified when no stored hash exists, so every sign-in hashes once.
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    async def _run(self, fn: Callable[..., T], *args: str) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def hash(self, password: str) -> str:
        return str(await self._run(self._hasher.hash, password))

    async def verify(self, stored: str | None, password: str | None) -> bool:
        """Whether `password` matches `stored`; always costs one hash."""
        target = stored or self._dummy
        try:
            ok = await self._run(self._hasher.verify, target, password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return bool(ok) and stored is not None and password is not None

    def needs_rehash(self, stored: str) -> bool:
        """The stored hash was made with other parameters than the configured ones."""
        try:
            return bool(self._hasher.check_needs_rehash(stored))
        except InvalidHashError:
            return True

    def close(self) -> None:
        self._pool.shutdown(wait=False)
