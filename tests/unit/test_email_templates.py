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
        "fulfillment.created",
        "fulfillment.updated",
        "customer.activation",
        "customer.account_exists",
        "customer.password_reset",
    }


TOKEN = "shpet_c2VjcmV0LXRva2VuLWZvci10ZXN0cy0xMjM0NTY3ODk"


def test_account_mails_carry_the_link_in_the_body_never_the_subject():
    data = {
        "email": "ada@example.com",
        "token": TOKEN,
        "url": f"https://shop.myshop.localhost/account/reset?token={TOKEN}",
        "expires_in_minutes": 60,
    }
    for template in (t.account_activation, t.account_exists, t.password_reset):
        subject, text, body_html = template("Shop <&>", data)
        assert TOKEN not in subject
        assert data["url"] in text and "&lt;&amp;&gt;" in body_html
    assert "within 1 hours" not in t.account_activation("S", data)[1]
