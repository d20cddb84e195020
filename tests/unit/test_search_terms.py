"""Search-box parsing: pure functions, no database."""

from __future__ import annotations

import pytest

from services.catalog.storefront import search_terms
from services.common.errors import InvalidArgument


def test_search_terms_build_a_safe_prefix_tsquery():
    terms = search_terms.parse("  Blue   T-Shirt ")
    assert terms.words == ("blue", "t", "shirt")
    assert terms.tsquery == "'blue' & 't' & 'shirt':*"
    assert terms.text == "blue t shirt"
    hostile = search_terms.parse("a' | b:* & !c <-> (d) \\ e_f")
    assert hostile.tsquery == "'a' & 'b' & 'c' & 'd' & 'e' & 'f':*"
    assert search_terms.parse("Café Crème").words == ("café", "crème")


def test_search_terms_limits():
    assert search_terms.parse("?!") is None
    assert len(search_terms.parse(" ".join(["w"] * 50)).words) == search_terms.MAX_WORDS
    for bad in ("", "   ", "x" * 257):
        with pytest.raises(InvalidArgument) as err:
            search_terms.parse(bad)
        assert err.value.violations[0].field == "query"
