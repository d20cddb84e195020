"""Cart use cases: every read prices the lines from the catalog in a tenant transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import asyncpg

from services.checkout.cart.pricing import price_lines, purchasable_variant
from services.checkout.cart.rules import (
    CartView,
    StoredCart,
    add_line,
    check_quantity,
    line_by_id,
)
from services.checkout.cart.store import CartStore
from services.common.db import tenant_transaction
from services.common.errors import InvalidArgument, NotFound
from services.common.tenancy import require_store_id


class Carts:
    def __init__(self, pool: asyncpg.Pool, store: CartStore) -> None:
        self._pool = pool
        self._store = store

    async def _view(self, store_id: int, cart_id: str) -> CartView:
        cart, ttl = await self._store.get(store_id, cart_id)
        async with tenant_transaction(self._pool, store_id=store_id, readonly=True) as conn:
            lines = await price_lines(conn, store_id, cart)
        return CartView(cart.id, lines, datetime.now(UTC) + timedelta(seconds=max(ttl, 0)))

    async def _check_variant(self, store_id: int, variant_id: str) -> None:
        async with tenant_transaction(self._pool, store_id=store_id, readonly=True) as conn:
            if not await purchasable_variant(conn, store_id, variant_id):
                raise NotFound("no variant with this id for sale in this store")

    async def create(self, lines: Sequence[tuple[str, int]]) -> CartView:
        """A new cart, optionally with (variant id, quantity) lines."""
        store_id = require_store_id()
        for i, (variant_id, quantity) in enumerate(lines):
            check_quantity(quantity, f"lines[{i}].quantity")
            await self._check_variant(store_id, variant_id)
        cart = await self._store.create(store_id)
        if lines:

            def fill(c: StoredCart) -> None:
                for variant_id, quantity in lines:
                    add_line(c, variant_id, quantity)

            await self._store.change(store_id, cart.id, fill)
        return await self._view(store_id, cart.id)

    async def get(self, cart_id: str) -> CartView:
        return await self._view(require_store_id(), cart_id)

    async def add(self, cart_id: str, variant_id: str, quantity: int) -> CartView:
        store_id = require_store_id()
        check_quantity(quantity)
        if not variant_id:
            raise InvalidArgument.field("variant_id", "is required")
        await self._store.get(store_id, cart_id)  # NOT_FOUND before touching the catalog
        await self._check_variant(store_id, variant_id)
        await self._store.change(store_id, cart_id, lambda c: add_line(c, variant_id, quantity))
        return await self._view(store_id, cart_id)

    async def update(self, cart_id: str, line_id: str, quantity: int) -> CartView:
        store_id = require_store_id()
        check_quantity(quantity)

        def edit(c: StoredCart) -> None:
            line_by_id(c, line_id).quantity = quantity

        await self._store.change(store_id, cart_id, edit)
        return await self._view(store_id, cart_id)

    async def remove(self, cart_id: str, line_id: str) -> CartView:
        store_id = require_store_id()

        def edit(c: StoredCart) -> None:
            c.lines.remove(line_by_id(c, line_id))

        await self._store.change(store_id, cart_id, edit)
        return await self._view(store_id, cart_id)
