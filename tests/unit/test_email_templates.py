"""The emails' text from event payloads: amounts in the order's currency, values escaped in
HTML, the pending-refund note only when pending."""

from __future__ import annotations

from services.events.consumers import email_templates as t
from services.events.consumers.email import MAILS

ORDER = {"order_number": 1004, "currency": "USD", "total_minor": 5000, "email": "a@b.c"}


def test_refund_notice_names_the_amount_and_order():
    subject, text, body = t.order_refunded("<Shop>", {**ORDER, "refunded_minor": 1250})
    assert subject == "<Shop>: refund of 12.50 USD for order #1004"
    assert "has refunded 12.50 USD for your order #1004" in text
    assert "&lt;Shop&gt;" in body and "<Shop>" not in body
    assert "being processed" not in text
    _, pending, _ = t.order_refunded(
        "S", {**ORDER, "refunded_minor": 1, "refund_status": "pending"}
    )
    assert "being processed" in pending


def test_cancellation_notice_mentions_the_refund_only_if_there_was_one():
    _, text, _ = t.order_cancelled("S", {**ORDER, "refunded_minor": 5000})
    assert "cancelled" in text and "50.00 USD is refunded" in text
    _, nothing, _ = t.order_cancelled("S", {**ORDER, "refunded_minor": 0})
    assert "refunded" not in nothing


def test_payout_failure_goes_to_the_owner_with_stripes_reason():
    payout = {
        "payout_id": "po_1",
        "amount_minor": 123456,
        "currency": "EUR",
        "failure_code": "account_closed",
        "failure_message": "The bank account has been closed.",
    }
    subject, text, _ = t.payout_failed("S", payout)
    assert "1234.56 EUR" in subject and "The bank account has been closed." in text
    assert MAILS["payout.failed"][0] == "owner"
    assert {k for k, (who, _) in MAILS.items() if who == "shopper"} == {
        "order.created",
        "order.refunded",
        "order.cancelled",
    }
