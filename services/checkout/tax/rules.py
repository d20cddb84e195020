"""Tax, as plain Python: which rate applies to an address, the tax of each line and of
shipping, and the share of a line's tax a refund returns. No SQL here.

Rates are in thousandths of a percent (`rate_millipercent`: 8.875 % is 8875), so every
computation is integers in minor units.

THE ROUNDING RULE (one, everywhere): tax is computed **per line** (a line is a variant times its
quantity, and shipping is one line), rounded **half up** to the minor unit, and the order's tax
is the sum of its lines' taxes. Per line because a refund of a line must return exactly the tax
that line was charged; half up because it is what merchants and most tax authorities expect
(Stripe Tax rounds per line too).
- Prices without tax (exclusive): tax = round_half_up(amount x rate).
- Prices with tax (inclusive): the amount holds the tax; net = round_half_up(amount / (1 +
  rate)), tax = amount - net, so net + tax is exactly what the shopper sees.

A refund of k of a line's q units returns the line's tax share cumulatively: after r units
are refunded in all, floor(tax x r / q) has gone back; so partial refunds never sum to more or
less than the line's tax once every unit is refunded."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.common.errors import Validator

SCALE = 100_000  # rate_millipercent of 100 % (rates up to 100 % are accepted)


@dataclass(frozen=True)
class TaxRate:
    country: str  # ISO 3166-1 alpha-2
    region: str  # ISO 3166-2 ("US-NY"), "" for the whole country
    rate_millipercent: int


@dataclass(frozen=True)
class TaxSettings:
    # Prices (variants and shipping rates) are entered with tax included.
    prices_include_tax: bool = False
    # Shipping is taxed at the address's rate too.
    tax_shipping: bool = False


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator to the nearest integer, halves up (both non-negative)."""
    return (2 * numerator + denominator) // (2 * denominator)


def rate_for(rates: Iterable[TaxRate], country: str, region: str) -> int:
    """The rate of the most specific match: the address's region, else its country, else 0."""
    country_rate = 0
    for rate in rates:
        if rate.country != country:
            continue
        if rate.region and rate.region == region:
            return rate.rate_millipercent
        if not rate.region:
            country_rate = rate.rate_millipercent
    return country_rate


def tax_of(amount: int, rate_millipercent: int, inclusive: bool) -> int:
    """The tax of one line (or of shipping) under the rounding rule above."""
    if rate_millipercent == 0 or amount == 0:
        return 0
    if inclusive:
        return amount - round_half_up(amount * SCALE, SCALE + rate_millipercent)
    return round_half_up(amount * rate_millipercent, SCALE)


def refunded_tax_share(line_tax: int, quantity: int, refunded_before: int, refunding: int) -> int:
    """The part of a line's tax a refund of `refunding` more units returns (cumulative floor:
    every unit refunded in the end returns the line's tax exactly)."""
    after = refunded_before + refunding
    return line_tax * after // quantity - line_tax * refunded_before // quantity


def validate_rate(country: str, region: str, rate_millipercent: int) -> TaxRate:
    country = country.strip().upper()
    region = region.strip().upper()
    if region and not region.startswith(country + "-"):
        region = f"{country}-{region}"
    v = Validator()
    v.check(len(country) == 2 and country.isalpha(), "country", "must be ISO 3166-1, e.g. US")
    v.check(
        len(region) <= 6,
        "region",
        "must be an ISO 3166-2 code such as US-NY (or empty for the whole country)",
    )
    v.check(
        0 <= rate_millipercent <= SCALE,
        "rate_millipercent",
        "must be 0 to 100000 (thousandths of a percent: 8.875 % is 8875)",
    )
    v.raise_if_any()
    return TaxRate(country, region, rate_millipercent)
