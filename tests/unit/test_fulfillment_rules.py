"""Fulfillment rules: what may ship, the order's fulfillment_status, tracking validation, and
the shipping email's content."""

from __future__ import annotations

import pytest

from services.checkout.fulfillment.rules import (
    Tracking,
    fulfillment_status,
    to_ship,
    validate_tracking,
)
from services.checkout.orders.rules import OrderLine
from services.common.errors import FailedPrecondition, InvalidArgument
from services.events.consumers import email_templates as t


def _line(variant: str, quantity: int, refunded: int = 0, fulfilled: int = 0) -> OrderLine:
    return OrderLine(variant, "p", None, f"Item {variant}", quantity, 100, refunded, 0, fulfilled)


def test_nothing_requested_ships_everything_left_and_refunded_units_never_ship():
    lines = [_line("a", 3, refunded=1, fulfilled=1), _line("b", 2, refunded=2)]
    assert to_ship("paid", lines, []) == {1: 1}


def test_over_fulfilment_names_the_line_and_repeats_count_together():
    lines = [_line("a", 3, fulfilled=1)]
    assert to_ship("paid", lines, [("a", 2)]) == {1: 2}
    with pytest.raises(InvalidArgument) as err:
        to_ship("paid", lines, [("a", 1), ("a", 2)])
    assert err.value.violations[0].field == "lines[1].quantity"
    with pytest.raises(InvalidArgument) as err:
        to_ship("paid", lines, [("zzz", 1)])
    assert err.value.violations[0].field == "lines[0].variant_id"


def test_a_cancelled_or_finished_order_ships_nothing():
    with pytest.raises(FailedPrecondition):
        to_ship("cancelled", [_line("a", 1)], [])
    with pytest.raises(FailedPrecondition):
        to_ship("paid", [_line("a", 1, fulfilled=1)], [])


def test_status_counts_units_not_refunded():
    assert fulfillment_status([_line("a", 2)]) == "unfulfilled"
    assert fulfillment_status([_line("a", 2, fulfilled=1)]) == "partially_fulfilled"
    assert fulfillment_status([_line("a", 2, refunded=1, fulfilled=1)]) == "fulfilled"


def test_tracking_url_must_be_a_web_link():
    assert validate_tracking(Tracking(" UPS ", "1Z", "https://x.example/1Z")).company == "UPS"
    with pytest.raises(InvalidArgument) as err:
        validate_tracking(Tracking(url="javascript:alert(1)"))
    assert err.value.violations[0].field == "tracking.url"


def test_shipping_email_has_the_tracking_link_escaped():
    data = {
        "order_number": 1001,
        "lines": [{"variant_id": "a", "quantity": 2}],
        "titles": {"a": "<Shirt>"},
        "tracking_company": "UPS",
        "tracking_number": "1Z",
        "tracking_url": "https://track.example/1Z?a=1&b=2",
    }
    subject, text, body = t.shipping_confirmation("S", data)
    assert "shipped" in subject and "https://track.example/1Z?a=1&b=2" in text
    assert "2 x <Shirt>" in text and "&lt;Shirt&gt;" in body and "a=1&amp;b=2" in body


def test_confirmation_itemises_shipping_and_tax():
    order = {
        "order_number": 1001,
        "currency": "USD",
        "total_minor": 5115,
        "subtotal_minor": 3998,
        "shipping_minor": 700,
        "tax_minor": 417,
        "shipping_rate_name": "Standard",
        "lines": [],
    }
    _, text, _ = t.order_confirmation("S", order)
    assert "Subtotal: 39.98 USD" in text and "Shipping (Standard): 7.00 USD" in text
    assert "Tax: 4.17 USD" in text and "Total: 51.15 USD" in text
