"""Resolves an admin access token to its store and scopes: Redis first, then PostgreSQL through
the narrow `platform.api_token` function (shop_control role)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import asyncpg
import redis.asyncio as redis

from services.store.tokens.rules import hash_token

CACHE_TTL_SECONDS = 60
_REVOKED = b"revoked"


@dataclass(frozen=True)
class TokenGrant:
    store_id: int
    scopes: frozenset[str]


def cache_key(token_hash: bytes) -> str:
    return f"authz:token:{token_hash.hex()}"


class TokenResolver:
    def __init__(self, control_pool: asyncpg.Pool, cache: redis.Redis) -> None:
        self._pool = control_pool
        self._cache = cache

    async def resolve(self, token: str) -> TokenGrant | None:
        token_hash = hash_token(token)
        key = cache_key(token_hash)
        cached = await self._cache.get(key)
        if cached == _REVOKED:
            return None
        if cached is not None:
            data = json.loads(cached)
            return TokenGrant(data["store_id"], frozenset(data["scopes"]))
        row = await self._pool.fetchrow(
            "SELECT store_id, scopes FROM platform.api_token($1)", token_hash
        )
        if row is None:
            return None
        grant = TokenGrant(row["store_id"], frozenset(row["scopes"]))
        # NX: a revocation that committed after our read has already left its tombstone, and a
        # grant read before it must not overwrite it.
        await self._cache.set(
            key,
            json.dumps({"store_id": grant.store_id, "scopes": sorted(grant.scopes)}),
            ex=CACHE_TTL_SECONDS,
            nx=True,
        )
        return grant

    async def forget(self, token_hash: bytes) -> None:
        """Revocation, effective at once: overwrites any cached grant with a tombstone that
        outlives every grant cached before it. Call after the revocation has committed."""
        await self._cache.set(cache_key(token_hash), _REVOKED, ex=CACHE_TTL_SECONDS)
