"""Shipping zones and rates as plain rules: which addresses a zone covers, what each kind of
rate costs, and what the admin API refuses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.checkout.shipping.rules import (
    Rate,
    WeightBand,
    in_zone,
    price_of,
    validate_areas,
    validate_rate,
)
from services.common.errors import InvalidArgument


def test_a_country_covers_all_its_regions_and_a_region_only_itself():
    assert in_zone(["US"], "us", "CA")
    assert in_zone(["US-CA"], "US", "CA")
    assert in_zone(["US-CA"], "US", "US-CA")
    assert not in_zone(["US-CA"], "US", "NY")
    assert not in_zone(["US-CA"], "US", "")
    assert not in_zone(["US", "CA"], "DE", "")


def test_flat_and_free_above():
    assert price_of(Rate("flat", price=500), 100, 0) == 500
    free = Rate("free_above", price=700, free_above=5000)
    assert price_of(free, 4999, 0) == 700
    assert price_of(free, 5000, 0) == 0


def test_weight_bands_pick_the_first_that_fits_and_none_past_the_last():
    rate = Rate("weight", bands=(WeightBand(500, 400), WeightBand(2000, 900)))
    assert price_of(rate, 0, 0) == 400
    assert price_of(rate, 0, 500) == 400
    assert price_of(rate, 0, 501) == 900
    assert price_of(rate, 0, 2001) is None


@given(st.lists(st.integers(1, 10**6), min_size=1, max_size=20, unique=True), st.integers(0, 10**6))
def test_a_weight_rate_costs_its_lightest_fitting_band(ups, weight):
    ups.sort()
    rate = Rate("weight", bands=tuple(WeightBand(u, i) for i, u in enumerate(ups)))
    got = price_of(rate, 0, weight)
    fitting = [i for i, u in enumerate(ups) if weight <= u]
    assert got == (fitting[0] if fitting else None)


def test_bad_areas_and_rates_name_the_field():
    with pytest.raises(InvalidArgument) as err:
        validate_areas(["USA"])
    assert err.value.violations[0].field == "areas"
    with pytest.raises(InvalidArgument) as err:
        validate_rate(Rate("weight", bands=(WeightBand(500, 1), WeightBand(400, 2))))
    assert err.value.violations[0].field == "weight_bands"
    with pytest.raises(InvalidArgument) as err:
        validate_rate(Rate("free_above", price=100, free_above=0))
    assert err.value.violations[0].field == "free_above"
    assert validate_areas([" us ", "US", "us-ca"]) == ("US", "US-CA")


def test_a_variant_weight_out_of_bounds_names_the_field():
    from services.catalog.products.rules import MoneyInput, VariantDraft, check_variant
    from services.common.errors import Validator

    v = Validator()
    draft = VariantDraft(price=MoneyInput(100, ""), weight_grams=-1)
    check_variant(v, "variants[0]", 1, draft, (), "USD")
    assert [x.field for x in v.violations] == ["variants[0].weight_grams"]
    ok = Validator()
    assert (
        check_variant(
            ok, "v", 1, VariantDraft(price=MoneyInput(1, ""), weight_grams=250), (), "USD"
        ).weight_grams
        == 250
    )
    assert ok.violations == []
