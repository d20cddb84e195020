"""Page tokens and page sizes shared by every list: pure functions, no database."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime

import pytest

from services.common import cursor
from services.common.errors import InvalidArgument

ID = uuid.UUID("2f1c1c8e-8d7f-4a8e-9a51-3c0b7e1d9f00")
KINDS: cursor.Kinds = {
    "newest": (datetime, uuid.UUID),
    "price_asc": (int, uuid.UUID),
    "title": (str, uuid.UUID),
    "search": (float, uuid.UUID),
    "alerts": (datetime, str),
}


@pytest.mark.parametrize(
    ("kind", "key"),
    [
        ("newest", (datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), ID)),
        ("price_asc", (10**13, ID)),
        ("title", ("blue shirt ü", ID)),
        ("search", (0.123456789012345, ID)),
        ("alerts", (datetime(2026, 1, 2, tzinfo=UTC), "inventory-low:abc")),
    ],
)
def test_round_trip_keeps_the_exact_key(kind, key):
    token = cursor.encode(kind, {"status": "paid"}, key)
    assert cursor.decode(token, KINDS, {"status": "paid"}) == (kind, key)
    assert "=" not in token and "/" not in token and "+" not in token


def test_other_kind_or_filters_are_refused_naming_page_token():
    token = cursor.encode("price_asc", {"min": 1}, (100, ID))
    for kinds, filters in (({"title": KINDS["title"]}, {"min": 1}), (KINDS, {"min": 2})):
        with pytest.raises(InvalidArgument) as err:
            cursor.decode(token, kinds, filters)
        assert err.value.violations[0].field == "page_token"
        assert "another list, sort or filter" in err.value.message


def _raw(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


FP = cursor.fingerprint({})


@pytest.mark.parametrize(
    "token",
    [
        "",
        "%%%",
        "garbage!",
        _raw([1, 2]),
        _raw({"v": 1, "c": "2026-01-01T00:00:00", "i": str(ID)}),  # the first cursor format
        _raw({"v": 2, "k": "price_asc", "f": FP, "a": [1, str(ID)]}),  # the storefront's
        _raw({"v": 3, "k": "price_asc", "f": FP, "a": ["1", str(ID)]}),
        _raw({"v": 3, "k": "price_asc", "f": FP, "a": [True, str(ID)]}),
        _raw({"v": 3, "k": "price_asc", "f": FP, "a": [1, "not-a-uuid"]}),
        _raw({"v": 3, "k": "price_asc", "f": FP, "a": [1]}),
        _raw({"v": 3, "k": "newest", "f": FP, "a": ["2026-01-01T00:00:00", str(ID)]}),
        _raw({"v": 3, "k": "title", "f": FP, "a": [None, str(ID)]}),
        _raw({"v": 3, "k": 7, "f": FP, "a": [1, str(ID)]}),
    ],
)
def test_malformed_tokens_are_invalid_argument(token):
    with pytest.raises(InvalidArgument) as err:
        cursor.decode(token, KINDS, {})
    assert err.value.violations[0].field == "page_token"


def test_fingerprint_depends_on_every_filter_but_not_key_order():
    base = {"min": 1, "max": None, "avail": False}
    assert cursor.fingerprint(base) == cursor.fingerprint(dict(reversed(base.items())))
    assert cursor.fingerprint(base) != cursor.fingerprint({**base, "avail": True})
    assert cursor.fingerprint(base) != cursor.fingerprint({**base, "max": 0})


def test_page_size_defaults_clamps_and_refuses_negative():
    assert cursor.page_size(0) == 50
    assert cursor.page_size(7) == 7
    assert cursor.page_size(100_000) == 250
    assert cursor.page_size(0, 20, 100) == 20 and cursor.page_size(101, 20, 100) == 100
    with pytest.raises(InvalidArgument) as err:
        cursor.page_size(-1)
    assert err.value.violations[0].field == "page_size"


def test_a_page_stops_at_its_text_budget_but_keeps_at_least_one_row():
    from services.common.cursor import rows_within

    rows = [100] * 10
    assert rows_within(rows, 5, lambda r: r, budget=1000) == 5
    assert rows_within(rows, 10, lambda r: r, budget=350) == 3
    assert rows_within([5000, 1], 2, lambda r: r, budget=100) == 1
    assert rows_within(rows[:2], 5, lambda r: r, budget=1000) == 2
