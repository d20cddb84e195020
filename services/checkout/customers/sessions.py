"""Shoppers' sessions and emailed tokens in Redis (only hashes are stored, see session_rules).

A session key holds its customer id and slides: every use moves its expiry `ttl` ahead, in the
same round trip as the lookup (one Lua script). A customer's session hashes are also kept in a
set, so a password change or reset ends the others at once. Emailed tokens are single-use:
redeeming one is GETDEL, so two racing redemptions cannot both succeed."""

from __future__ import annotations

import json
import time
from typing import Any

import redis.asyncio as redis

from services.checkout.customers.session_rules import (
    EMAIL_TOKEN_PREFIX,
    SESSION_PREFIX,
    Session,
    email_token_key,
    new_email_token,
    new_session_token,
    plausible,
    session_key,
    sessions_of_key,
    token_hash,
)

# KEYS[1] the session; ARGV[1] ttl, ARGV[2] the set-of-sessions key prefix. Returns the
# customer id and slides both the session and its customer's set.
_RESOLVE = """
local customer = redis.call('GET', KEYS[1])
if not customer then return false end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', ARGV[2] .. customer, ARGV[1])
return customer
"""
# KEYS[1] the customer's set; ARGV[1] the session key prefix, ARGV[2] a hash to keep ("" none).
# Ends every other session of the customer; returns how many were ended.
_END_OTHERS = """
local ended = 0
for _, hashed in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if hashed ~= ARGV[2] then
    ended = ended + redis.call('DEL', ARGV[1] .. hashed)
    redis.call('SREM', KEYS[1], hashed)
  end
end
return ended
"""


class SessionStore:
    def __init__(self, client: redis.Redis, ttl_seconds: int) -> None:
        self._redis = client
        self.ttl = ttl_seconds
        self._resolve = client.register_script(_RESOLVE)
        self._end_others = client.register_script(_END_OTHERS)

    async def create(self, store_id: int, customer_id: str) -> str:
        token = new_session_token()
        hashed = token_hash(token)
        members = sessions_of_key(store_id, customer_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(session_key(store_id, hashed), customer_id, ex=self.ttl)
            pipe.sadd(members, hashed)
            pipe.expire(members, self.ttl)
            await pipe.execute()
        return token

    async def resolve(self, store_id: int, token: str) -> Session | None:
        """The session of `token` at this store, its expiry moved ahead; None if unknown,
        expired, ended, or issued by another store."""
        if not plausible(token, SESSION_PREFIX):
            return None
        hashed = token_hash(token)
        customer = await self._resolve(
            keys=[session_key(store_id, hashed)],
            args=[self.ttl, sessions_of_key(store_id, "")],
        )
        if customer is None:
            return None
        value = customer.decode() if isinstance(customer, bytes) else str(customer)
        return Session(store_id, value, hashed)

    async def end(self, session: Session) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(session_key(session.store_id, session.token_hash))
            pipe.srem(sessions_of_key(session.store_id, session.customer_id), session.token_hash)
            await pipe.execute()

    async def end_all(self, store_id: int, customer_id: str, keep: Session | None = None) -> int:
        """Ends the customer's sessions (but `keep`); how many were ended."""
        ended = await self._end_others(
            keys=[sessions_of_key(store_id, customer_id)],
            args=[session_key(store_id, ""), keep.token_hash if keep else ""],
        )
        return int(ended)


class EmailTokens:
    """Single-use tokens sent by email (activation, password reset)."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    async def issue(self, store_id: int, kind: str, data: dict[str, Any], ttl: int) -> str:
        token = new_email_token()
        payload = json.dumps({**data, "issued_at": time.time()})
        await self._redis.set(email_token_key(store_id, kind, token_hash(token)), payload, ex=ttl)
        return token

    async def redeem(self, store_id: int, kind: str, token: str) -> dict[str, Any] | None:
        """The token's data, once: the key is gone after this call, whoever asks."""
        if not plausible(token, EMAIL_TOKEN_PREFIX):
            return None
        raw = await self._redis.getdel(email_token_key(store_id, kind, token_hash(token)))
        return None if raw is None else dict(json.loads(raw))
