"""Failure throttling in Redis: a sliding window of attempts per key (a sorted set of
timestamps), across every process of the service.

An attempt is admitted only if every one of its keys has fewer than `limit` entries in the
last `window` seconds, and it is then added to each of them in the same script — so twenty
concurrent guesses cannot all slip in before the first failure is counted. A successful attempt
is removed again (`forgive`); a failed one stays for the window. A refused attempt adds
nothing: being throttled does not extend the wait."""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as redis

from services.common.errors import ResourceExhausted

# KEYS: the throttle keys. ARGV: now (ms), window (ms), limit, member.
# Returns 0 (admitted, recorded) or the milliseconds until the earliest key admits again.
_ADMIT = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local wait = 0
for _, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local until_free = tonumber(oldest[2]) + window - now
    if until_free > wait then wait = until_free end
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, window)
end
return 0
"""


@dataclass(frozen=True)
class Attempt:
    keys: tuple[str, ...]
    member: str


class Throttle:
    def __init__(self, client: redis.Redis, limit: int, window_seconds: int) -> None:
        self._redis = client
        self._limit = limit
        self._window_ms = window_seconds * 1000
        self._admit = client.register_script(_ADMIT)

    async def admit(self, keys: Sequence[str]) -> Attempt:
        """Counts an attempt against every key, or RESOURCE_EXHAUSTED saying when to retry."""
        member = f"{time.time_ns()}:{secrets.token_hex(4)}"
        wait_ms = int(
            await self._admit(
                keys=list(keys),
                args=[int(time.time() * 1000), self._window_ms, self._limit, member],
            )
        )
        if wait_ms > 0:
            seconds = max(1, -(-wait_ms // 1000))
            raise ResourceExhausted(
                f"too many failed attempts; retry in {seconds} seconds", retry_after=seconds
            )
        return Attempt(tuple(keys), member)

    async def forgive(self, attempt: Attempt, keys: Sequence[str] | None = None) -> None:
        """The attempt succeeded: it no longer counts (against `keys`, default all of them)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in attempt.keys if keys is None else keys:
                pipe.zrem(key, attempt.member)
            await pipe.execute()
