"""Carts written straight to Redis, ahead of a measured window, so the measured requests are
checkouts only.

The document is the checkout service's own (StoredCart); the key layout is written out here,
as the service offers no public name for it. Every batch is read back through GET /v1/carts,
so a change of either fails the benchmark instead of measuring empty carts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import httpx
import redis

from services.checkout.cart.rules import StoredCart, StoredLine

TTL_SECONDS = 3600


def cart_key(store_id: int, cart_id: str) -> str:
    return f"cart:{store_id}:{cart_id}"


@dataclass
class Carts:
    redis_url: str
    store_id: int
    written: list[str] = field(default_factory=list)

    def write(self, lines_per_cart: list[list[str]]) -> list[str]:
        """One cart per entry (one unit of each variant id); their ids."""
        client = redis.Redis.from_url(self.redis_url)
        ids = []
        try:
            pipe = client.pipeline(transaction=False)
            for i, variant_ids in enumerate(lines_per_cart, 1):
                cart = StoredCart(
                    uuid.uuid4().hex,
                    [StoredLine(uuid.uuid4().hex[:12], v, 1) for v in variant_ids],
                )
                pipe.set(cart_key(self.store_id, cart.id), cart.to_json(), ex=TTL_SECONDS)
                ids.append(cart.id)
                if i % 2000 == 0:
                    pipe.execute()
            pipe.execute()
        finally:
            client.close()
        self.written += ids
        return ids

    def check(self, http: httpx.Client, host: str, cart_id: str, lines: int) -> None:
        """The service reads what was written."""
        r = http.get(f"/v1/carts/{cart_id}", headers={"host": host})
        assert r.status_code == 200, f"cart {cart_id} as written to Redis: {r.text}"
        assert len(r.json()["lines"]) == lines, r.text

    def delete_all(self) -> None:
        client = redis.Redis.from_url(self.redis_url)
        try:
            for i in range(0, len(self.written), 2000):
                keys = [cart_key(self.store_id, c) for c in self.written[i : i + 2000]]
                client.delete(*keys)
        finally:
            client.close()
