"""Carts in Redis: one JSON document per cart under a key that includes the store, so a cart id
used on another store's host simply does not exist. Every change refreshes the TTL; updates
are optimistic (WATCH/MULTI) so two tabs adding lines at once both land."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

import redis.asyncio as redis
from redis.exceptions import WatchError

from services.common.errors import Aborted, InvalidArgument, NotFound

MAX_LINES = 100
MAX_QUANTITY = 999


@dataclass
class StoredLine:
    id: str
    variant_id: str
    quantity: int


@dataclass
class StoredCart:
    id: str
    lines: list[StoredLine] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(
            {"id": self.id, "lines": [line.__dict__ for line in self.lines]},
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> StoredCart:
        data = json.loads(raw)
        return cls(data["id"], [StoredLine(**line) for line in data["lines"]])


def check_quantity(quantity: int, field_name: str = "quantity") -> None:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidArgument.field(field_name, f"must be between 1 and {MAX_QUANTITY}")


def _key(store_id: int, cart_id: str) -> str:
    return f"cart:{store_id}:{cart_id}"


class CartStore:
    def __init__(self, client: redis.Redis, ttl_seconds: int) -> None:
        self._redis = client
        self._ttl = ttl_seconds

    async def create(self, store_id: int) -> StoredCart:
        cart = StoredCart(uuid.uuid4().hex)
        await self._redis.set(_key(store_id, cart.id), cart.to_json(), ex=self._ttl)
        return cart

    async def get(self, store_id: int, cart_id: str) -> tuple[StoredCart, int]:
        """The cart and its remaining TTL in seconds."""
        key = _key(store_id, cart_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            raw, ttl = await pipe.get(key).ttl(key).execute()
        if raw is None:
            raise NotFound("no cart with this id in this store (carts expire after inactivity)")
        return StoredCart.from_json(raw), int(ttl)

    async def change(self, store_id: int, cart_id: str, edit) -> StoredCart:
        """Applies `edit(cart)` atomically; retries if another writer got there first."""
        key = _key(store_id, cart_id)
        for _ in range(10):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if raw is None:
                        raise NotFound(
                            "no cart with this id in this store (carts expire after inactivity)"
                        )
                    cart = StoredCart.from_json(raw)
                    edit(cart)
                    if len(cart.lines) > MAX_LINES:
                        raise InvalidArgument.field(
                            "variant_id", f"a cart holds at most {MAX_LINES} lines"
                        )
                    pipe.multi()
                    pipe.set(key, cart.to_json(), ex=self._ttl)
                    await pipe.execute()
                    return cart
                except WatchError:
                    continue
        raise Aborted("the cart is being changed by another request; retry")

    async def delete(self, store_id: int, cart_id: str) -> None:
        await self._redis.delete(_key(store_id, cart_id))


def add_line(cart: StoredCart, variant_id: str, quantity: int) -> None:
    for line in cart.lines:
        if line.variant_id == variant_id:
            check_quantity(line.quantity + quantity)
            line.quantity += quantity
            return
    cart.lines.append(StoredLine(uuid.uuid4().hex[:12], variant_id, quantity))


def line_by_id(cart: StoredCart, line_id: str) -> StoredLine:
    for line in cart.lines:
        if line.id == line_id:
            return line
    raise NotFound("no line with this id in the cart")
