"""The itemised order, as plain Python: subtotal, shipping, tax, discount and total from the
lines' prices, the chosen shipping price, the address's tax rate and the store's tax settings.

One identity holds for every order, tax-inclusive or not:

    subtotal + shipping + tax - discount = total

so `subtotal` and `shipping` are amounts *before* tax. In a store whose prices include tax the
order splits each line's price into net + tax (services.checkout.tax.rules: per line, half up),
so the shopper still pays exactly the prices shown; in a store whose prices exclude tax the tax
is added on top. The discount is zero until discounts exist."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.checkout.shipping.rules import ZoneRate, in_zone, price_of
from services.checkout.tax.rules import TaxSettings, refunded_tax_share, tax_of
from services.common.errors import FailedPrecondition


@dataclass(frozen=True)
class Totals:
    subtotal: int
    shipping: int
    tax: int
    discount: int
    total: int
    # The tax of each line, in the lines' order (stored on the order's items).
    line_taxes: tuple[int, ...]
    shipping_tax: int


def order_totals(
    line_amounts: Sequence[int],
    shipping_price: int,
    rate_millipercent: int,
    settings: TaxSettings,
    discount: int = 0,
) -> Totals:
    """`line_amounts`: each line's unit price x quantity as entered; `shipping_price`: the
    rate's price as entered (both with tax when the store's prices include it)."""
    inclusive = settings.prices_include_tax
    line_taxes = tuple(tax_of(a, rate_millipercent, inclusive) for a in line_amounts)
    shipping_tax = (
        tax_of(shipping_price, rate_millipercent, inclusive) if settings.tax_shipping else 0
    )
    if inclusive:
        subtotal = sum(line_amounts) - sum(line_taxes)
        shipping = shipping_price - shipping_tax
    else:
        subtotal = sum(line_amounts)
        shipping = shipping_price
    tax = sum(line_taxes) + shipping_tax
    discount = min(discount, subtotal + shipping + tax)
    return Totals(
        subtotal=subtotal,
        shipping=shipping,
        tax=tax,
        discount=discount,
        total=subtotal + shipping + tax - discount,
        line_taxes=line_taxes,
        shipping_tax=shipping_tax,
    )


def line_refund_value(
    unit_price: int,
    quantity: int,
    line_tax: int,
    refunded_before: int,
    refunding: int,
    inclusive: bool,
) -> int:
    """What refunding `refunding` more units of a line returns: their price and, when the tax
    was added on top, their share of the line's tax (cumulative, so refunding every unit in
    any steps returns the line's price and tax exactly)."""
    value = unit_price * refunding
    if not inclusive:
        value += refunded_tax_share(line_tax, quantity, refunded_before, refunding)
    return value


@dataclass(frozen=True)
class PricingSetup:
    """What the store says about shipping and tax for one address, read in the checkout's
    transaction (services.checkout.shipping.repository)."""

    ships: bool  # the store has any shipping zone
    covered: bool  # one of its zones covers the address
    rate: ZoneRate | None  # the requested rate, if it exists
    settings: TaxSettings
    tax_rate: int  # rate_millipercent for the address (0: none)


@dataclass(frozen=True)
class Priced:
    totals: Totals
    rate_id: str | None
    rate_name: str | None
    settings: TaxSettings

    def snapshot(self) -> dict[str, object]:
        """What the checkout record keeps (and the order is written from)."""
        t = self.totals
        return {
            "subtotal": t.subtotal,
            "shipping": t.shipping,
            "tax": t.tax,
            "discount": t.discount,
            "total": t.total,
            "shipping_tax": t.shipping_tax,
            "line_taxes": list(t.line_taxes),
            "prices_include_tax": self.settings.prices_include_tax,
            "shipping_rate_id": self.rate_id,
            "shipping_rate_name": self.rate_name,
        }


def check_shipping(
    setup: PricingSetup, country: str, region: str, rate_id: str
) -> FailedPrecondition | None:
    """Why this address or rate cannot be checked out, before anything is reserved."""
    if not setup.ships:
        if rate_id and setup.rate is None:
            return FailedPrecondition("shipping_rate_id: this store has no such shipping rate")
        return None
    if not setup.covered:
        return FailedPrecondition(
            f"this store does not ship to {country.upper()}; nothing was reserved"
        )
    if not rate_id:
        return FailedPrecondition(
            "shipping_rate_id: is required; choose one of the options ListShippingRates"
            " answers for this address"
        )
    if setup.rate is None or not in_zone(setup.rate.areas, country, region):
        return FailedPrecondition(
            "shipping_rate_id: this shipping rate no longer applies to this address; list the"
            " shipping rates again"
        )
    return None


def price_checkout(
    setup: PricingSetup,
    line_amounts: Sequence[int],
    weight_grams: int,
    currency: str,
) -> Priced | FailedPrecondition:
    """The order's totals from the lines as reserved (their current prices), once
    check_shipping passed."""
    shipping_price = 0
    rate = setup.rate if setup.ships else None
    if rate is not None:
        price = price_of(rate.rate, sum(line_amounts), weight_grams)
        if price is None or rate.currency != currency:
            return FailedPrecondition(
                "shipping_rate_id: this shipping rate no longer applies to this cart (its"
                " weight or currency); list the shipping rates again"
            )
        shipping_price = price
    totals = order_totals(line_amounts, shipping_price, setup.tax_rate, setup.settings)
    return Priced(totals, rate.id if rate else None, rate.name if rate else None, setup.settings)
