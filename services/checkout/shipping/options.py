"""What a shopper may choose at checkout: every rate of the zones covering the address that
applies to this cart, each priced with the whole order's estimate (subtotal, shipping, tax,
total), from the database — never from the client."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from services.checkout.cart.pricing import price_lines
from services.checkout.cart.store import CartStore
from services.checkout.checkout.totals_rules import Totals, order_totals
from services.checkout.shipping import repository as repo
from services.checkout.shipping.rules import price_of
from services.common.db import tenant_transaction
from services.common.errors import FailedPrecondition, InvalidArgument
from services.common.tenancy import require_store_id


@dataclass(frozen=True)
class Option:
    id: str
    name: str
    price: int
    estimate: Totals


@dataclass(frozen=True)
class Options:
    currency: str
    options: list[Option]
    # Without shipping.
    estimate: Totals


class ShippingOptions:
    def __init__(self, pool: asyncpg.Pool, carts: CartStore) -> None:
        self._pool = pool
        self._carts = carts

    async def for_cart(self, cart_id: str, country: str, region: str) -> Options:
        if len(country.strip()) != 2 or not country.strip().isalpha():
            raise InvalidArgument.field(
                "address.country", "must be an ISO 3166-1 alpha-2 code such as US"
            )
        store_id = require_store_id()
        cart, _ = await self._carts.get(store_id, cart_id)
        async with tenant_transaction(self._pool, store_id=store_id, readonly=True) as conn:
            lines = [line for line in await price_lines(conn, store_id, cart) if line.available]
            weight = await repo.cart_weight(
                conn, store_id, {line.variant_id: line.quantity for line in lines}
            )
            setup = await repo.setup_for(conn, store_id, country, region, "")
            rates = await repo.rates_to(conn, store_id, country, region)
            currency = lines[0].currency if lines else await repo.store_currency(conn, store_id)
        if setup.ships and not setup.covered:
            raise FailedPrecondition(f"this store does not ship to {country.strip().upper()}")
        amounts = [line.unit_price * line.quantity for line in lines]
        subtotal = sum(amounts)
        options = []
        for rate in rates:
            price = price_of(rate.rate, subtotal, weight)
            if price is None or rate.currency != currency:
                continue
            options.append(
                Option(
                    rate.id,
                    rate.name,
                    price,
                    order_totals(amounts, price, setup.tax_rate, setup.settings),
                )
            )
        return Options(currency, options, order_totals(amounts, 0, setup.tax_rate, setup.settings))
