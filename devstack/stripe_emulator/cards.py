"""Stripe's test PaymentMethods by their documented ids, and what confirming with each does
(payment_methods.py resolves an id, test or made through the API, to one of these)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Outcome = Literal["succeed", "decline", "authenticate"]


@dataclass(frozen=True)
class TestCard:
    outcome: Outcome
    brand: str = "visa"
    last4: str = "4242"
    code: str | None = None  # error code of a decline
    decline_code: str | None = None
    message: str | None = None
    bypass_pending: bool = False  # funds go straight to `available` (Stripe's 4000000000000077)


_DECLINED = "Your card was declined."

CARDS: dict[str, TestCard] = {
    "pm_card_visa": TestCard("succeed"),
    "pm_card_visa_debit": TestCard("succeed", last4="5556"),
    "pm_card_mastercard": TestCard("succeed", brand="mastercard", last4="4444"),
    "pm_card_amex": TestCard("succeed", brand="amex", last4="8431"),
    "pm_card_bypassPending": TestCard("succeed", last4="0077", bypass_pending=True),
    "pm_card_chargeDeclined": TestCard(
        "decline",
        last4="0002",
        code="card_declined",
        decline_code="generic_decline",
        message=_DECLINED,
    ),
    "pm_card_visa_chargeDeclined": TestCard(
        "decline",
        last4="0002",
        code="card_declined",
        decline_code="generic_decline",
        message=_DECLINED,
    ),
    "pm_card_chargeDeclinedInsufficientFunds": TestCard(
        "decline",
        last4="9995",
        code="card_declined",
        decline_code="insufficient_funds",
        message="Your card has insufficient funds.",
    ),
    "pm_card_chargeDeclinedExpiredCard": TestCard(
        "decline",
        last4="0069",
        code="expired_card",
        decline_code="expired_card",
        message="Your card has expired.",
    ),
    "pm_card_threeDSecure2Required": TestCard("authenticate", last4="3220"),
    "pm_card_authenticationRequired": TestCard("authenticate", last4="3184"),
}


def payment_method_details(pm: TestCard) -> dict:
    return {"type": "card", "card": {"brand": pm.brand, "last4": pm.last4, "country": "US"}}
