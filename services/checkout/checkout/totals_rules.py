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

from services.checkout.tax.rules import TaxSettings, refunded_tax_share, tax_of


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
