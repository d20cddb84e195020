"""Storefront page tokens and search-box parsing: pure functions, no database."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime

import pytest

from services.catalog.storefront import page_tokens as tokens
from services.catalog.storefront import search_terms
from services.common.errors import InvalidArgument

ID = uuid.UUID("2f1c1c8e-8d7f-4a8e-9a51-3c0b7e1d9f00")


@pytest.mark.parametrize(
    ("kind", "key"),
    [
        ("newest", datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)),
        ("price_asc", 1999),
        ("price_desc", 10**13),
        ("title", "blue shirt ü"),
        ("search", 0.123456789012345),
        ("fuzzy", 0.5),
    ],
)
def test_round_trip_keeps_the_exact_key(kind, key):
    token = tokens.encode(kind, "fp", tokens.Position(key, ID))
    assert tokens.decode(token, (kind,), "fp") == (kind, tokens.Position(key, ID))
    assert "=" not in token and "/" not in token and "+" not in token


def test_other_kind_or_criteria_is_refused_naming_page_token():
    token = tokens.encode("price_asc", "fp", tokens.Position(100, ID))
    for kinds, fp in ((("price_desc",), "fp"), (("price_asc",), "other")):
        with pytest.raises(InvalidArgument) as err:
            tokens.decode(token, kinds, fp)
        assert err.value.violations[0].field == "page_token"
        assert "another sort" in err.value.message


def _raw(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "%%%",
        _raw([1, 2]),
        _raw({"v": 1, "c": "2026-01-01T00:00:00", "i": str(ID)}),  # the old cursor format
        _raw({"v": 2, "k": "nope", "f": "fp", "a": [1, str(ID)]}),
        _raw({"v": 2, "k": "price_asc", "f": "fp", "a": ["1", str(ID)]}),
        _raw({"v": 2, "k": "price_asc", "f": "fp", "a": [True, str(ID)]}),
        _raw({"v": 2, "k": "price_asc", "f": "fp", "a": [1, "not-a-uuid"]}),
        _raw({"v": 2, "k": "price_asc", "f": "fp", "a": [1]}),
        _raw({"v": 2, "k": "newest", "f": "fp", "a": ["2026-01-01T00:00:00", str(ID)]}),
        _raw({"v": 2, "k": "title", "f": "fp", "a": [None, str(ID)]}),
    ],
)
def test_malformed_tokens_are_invalid_argument(token):
    with pytest.raises(InvalidArgument) as err:
        tokens.decode(token, tuple(tokens._KEY_TYPES), "fp")
    assert err.value.violations[0].field == "page_token"


def test_fingerprint_depends_on_every_criterion_but_not_key_order():
    base = {"min": 1, "max": None, "avail": False}
    assert tokens.fingerprint(base) == tokens.fingerprint(dict(reversed(base.items())))
    assert tokens.fingerprint(base) != tokens.fingerprint({**base, "avail": True})
    assert tokens.fingerprint(base) != tokens.fingerprint({**base, "max": 0})


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
