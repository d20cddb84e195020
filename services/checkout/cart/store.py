"""Carts in Redis: one JSON document per cart under a key that includes the store, so a cart id
used on another store's host simply does not exist. Every change refreshes the TTL; updates
are optimistic (WATCH/MULTI) so two tabs adding lines at once both land."""

from __future__ import annotations

from collections.abc import Callable

import redis.asyncio as redis
from redis.exceptions import WatchError

from services.checkout.cart.rules import StoredCart, check_size, new_cart
from services.common.errors import Aborted, NotFound
from services.common.store_keys import cart_key as _key

_MISSING = "no cart with this id in this store (carts expire after inactivity)"


class CartStore:
    def __init__(self, client: redis.Redis, ttl_seconds: int) -> None:
        self._redis = client
        self._ttl = ttl_seconds

    async def create(self, store_id: int) -> StoredCart:
        cart = new_cart()
        await self._redis.set(_key(store_id, cart.id), cart.to_json(), ex=self._ttl)
        return cart

    async def get(self, store_id: int, cart_id: str) -> tuple[StoredCart, int]:
        """The cart and its remaining TTL in seconds."""
        key = _key(store_id, cart_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.get(key)
            pipe.ttl(key)
            raw, ttl = await pipe.execute()
        if raw is None:
            raise NotFound(_MISSING)
        return StoredCart.from_json(raw), int(ttl)

    async def change(
        self, store_id: int, cart_id: str, edit: Callable[[StoredCart], None]
    ) -> StoredCart:
        """Applies `edit(cart)` atomically; retries if another writer got there first."""
        key = _key(store_id, cart_id)
        for _ in range(10):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if raw is None:
                        raise NotFound(_MISSING)
                    cart = StoredCart.from_json(raw)
                    edit(cart)
                    check_size(cart)
                    pipe.multi()
                    pipe.set(key, cart.to_json(), ex=self._ttl)
                    await pipe.execute()
                    return cart
                except WatchError:
                    continue
        raise Aborted("the cart is being changed by another request; retry")

    async def delete(self, store_id: int, cart_id: str) -> None:
        await self._redis.delete(_key(store_id, cart_id))
