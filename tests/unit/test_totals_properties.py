"""The itemised order's arithmetic, by property (hypothesis) over random carts, rates and both
tax modes, plus worked examples for a tax-inclusive and a tax-exclusive store."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.checkout.checkout.totals_rules import line_refund_value, order_totals
from services.checkout.tax.rules import (
    TaxRate,
    TaxSettings,
    rate_for,
    refunded_tax_share,
    round_half_up,
    tax_of,
)

prices = st.integers(min_value=0, max_value=10_000_000)
quantities = st.integers(min_value=1, max_value=999)
rates = st.integers(min_value=0, max_value=100_000)
settings = st.builds(TaxSettings, st.booleans(), st.booleans())
lines = st.lists(st.tuples(prices, quantities), min_size=1, max_size=20)


@given(lines, prices, rates, settings)
def test_subtotal_plus_shipping_plus_tax_minus_discount_is_the_total(
    cart, shipping, rate, tax_settings
):
    totals = order_totals([p * q for p, q in cart], shipping, rate, tax_settings)
    assert totals.subtotal + totals.shipping + totals.tax - totals.discount == totals.total
    assert totals.tax == sum(totals.line_taxes) + totals.shipping_tax
    assert min(totals.subtotal, totals.shipping, totals.tax, totals.total) >= 0


@given(lines, prices, rates, settings)
def test_inclusive_prices_are_exactly_what_the_shopper_pays(cart, shipping, rate, tax_settings):
    amounts = [p * q for p, q in cart]
    totals = order_totals(amounts, shipping, rate, tax_settings)
    if tax_settings.prices_include_tax:
        assert totals.total == sum(amounts) + shipping
    else:
        assert totals.total == sum(amounts) + shipping + totals.tax
        assert totals.subtotal == sum(amounts)


@given(prices, rates, st.booleans())
def test_line_tax_follows_the_half_up_rule(amount, rate, inclusive):
    tax = tax_of(amount, rate, inclusive)
    if inclusive:
        # net = amount / (1 + r) rounded half up; the tax is the rest.
        exact_net_times = amount * 100_000  # net * (100000 + rate), exactly
        net = amount - tax
        assert abs(2 * (exact_net_times - net * (100_000 + rate))) <= 100_000 + rate
    else:
        assert abs(2 * (amount * rate - tax * 100_000)) <= 100_000
    assert 0 <= tax <= amount


@given(
    st.lists(st.tuples(prices, quantities, st.integers(1, 5)), min_size=1, max_size=10),
    prices,
    rates,
    settings,
)
def test_refunding_everything_in_any_steps_returns_exactly_what_was_charged(
    cart, shipping, rate, tax_settings
):
    totals = order_totals([p * q for p, q, _ in cart], shipping, rate, tax_settings)
    returned = 0
    for (price, quantity, step), line_tax in zip(cart, totals.line_taxes, strict=True):
        done = 0
        while done < quantity:
            k = min(step, quantity - done)
            returned += line_refund_value(
                price, quantity, line_tax, done, k, tax_settings.prices_include_tax
            )
            done += k
    # What is left once every unit is refunded: shipping and its tax, nothing else.
    assert totals.total - returned == totals.shipping + totals.shipping_tax


@given(st.integers(0, 10**9), quantities, st.data())
def test_tax_shares_never_exceed_the_line_and_sum_to_it(line_tax, quantity, data):
    done, shares = 0, []
    while done < quantity:
        k = data.draw(st.integers(1, quantity - done))
        shares.append(refunded_tax_share(line_tax, quantity, done, k))
        done += k
    assert all(s >= 0 for s in shares)
    assert sum(shares) == line_tax


def test_round_half_up():
    assert round_half_up(5, 10) == 1
    assert round_half_up(4, 10) == 0
    assert round_half_up(15, 10) == 2
    assert round_half_up(25, 10) == 3  # half up, not to even


def test_worked_example_tax_exclusive_store():
    """US store, prices without tax, 8.875 % (NYC), shipping taxed: 2 x 19.99 and 1 x 5.00,
    shipping 7.50."""
    settings = TaxSettings(prices_include_tax=False, tax_shipping=True)
    totals = order_totals([2 * 1999, 500], 750, 8875, settings)
    # 3998 x 0.08875 = 354.8225 → 355; 500 x 0.08875 = 44.375 → 44; 750 x 0.08875 = 66.5625 → 67
    assert totals.line_taxes == (355, 44)
    assert totals.shipping_tax == 67
    assert (totals.subtotal, totals.shipping, totals.tax, totals.total) == (4498, 750, 466, 5714)


def test_worked_example_tax_inclusive_store():
    """German store, prices with 19 % VAT, shipping not taxed: 1 x 119.00 and 3 x 9.99,
    shipping 4.90."""
    settings = TaxSettings(prices_include_tax=True, tax_shipping=False)
    totals = order_totals([11900, 3 * 999], 490, 19000, settings)
    # 11900 / 1.19 = 10000 → tax 1900; 2997 / 1.19 = 2518.49 → 2518, tax 479
    assert totals.line_taxes == (1900, 479)
    assert (totals.subtotal, totals.shipping, totals.tax, totals.total) == (12518, 490, 2379, 15387)
    assert totals.total == 11900 + 2997 + 490


def test_the_most_specific_rate_applies():
    table = [TaxRate("US", "", 4000), TaxRate("US", "US-NY", 8875), TaxRate("DE", "", 19000)]
    assert rate_for(table, "US", "US-NY") == 8875
    assert rate_for(table, "US", "US-CA") == 4000
    assert rate_for(table, "FR", "") == 0
