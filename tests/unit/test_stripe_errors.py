"""Every class of Stripe error the SDK raises means one thing for money (payments/gateway.py):
a decline is the shopper's to fix, no answer is "ask again with the same key", our request
refused is "nothing was charged" with a reference — never an unhandled exception."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from services.checkout.payments.gateway import StripeGateway
from services.checkout.payments.rules import PaymentRefused, PaymentUnavailable


class _Intents:
    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors
        self.calls = 0

    async def create_async(self, **_: Any) -> Any:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return stripe.PaymentIntent.construct_from(
            {"id": "pi_1", "object": "payment_intent", "status": "succeeded", "metadata": {}},
            "sk_test",
        )


class _Client:
    def __init__(self, errors: list[Exception]) -> None:
        self.intents = _Intents(errors)
        self.v1 = self

    @property
    def payment_intents(self) -> _Intents:
        return self.intents


async def _charge(*errors: Exception):
    client = _Client(list(errors))
    gateway = StripeGateway(client)  # type: ignore[arg-type]
    result = await gateway.charge(
        account="acct_1",
        amount=1000,
        currency="usd",
        payment_method="pm_card_visa",
        application_fee=0,
        idempotency_key="k",
        metadata={},
    )
    return result, client.intents.calls


def _card_error() -> stripe.CardError:
    return stripe.CardError("Your card was declined.", "payment_method", "card_declined")


async def test_a_card_error_is_a_decline():
    payment, _ = await _charge(_card_error())
    assert payment.status == "declined" and payment.decline_code == "card_declined"


@pytest.mark.parametrize(
    "error",
    [
        stripe.InvalidRequestError("No such payment_method", "payment_method"),
        stripe.PermissionError("The provided key does not have access to account"),
        stripe.AuthenticationError("Invalid API Key provided"),
        stripe.IdempotencyError("Keys for idempotent requests can only be used with the same"),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_our_request_refused_is_reported_with_a_reference(error: Exception):
    with pytest.raises(PaymentRefused) as refused:
        await _charge(error)
    assert refused.value.reference and "nothing was charged" in refused.value.message
    assert not refused.value.shopper_fixable


async def test_an_amount_below_the_minimum_is_the_shoppers_to_fix():
    error = stripe.InvalidRequestError(
        "Amount must be at least $0.50 usd", "amount", "amount_too_small"
    )
    with pytest.raises(PaymentRefused) as refused:
        await _charge(error)
    assert refused.value.shopper_fixable


@pytest.mark.parametrize(
    "error",
    [
        stripe.APIConnectionError("connection reset"),
        stripe.APIError("internal error", http_status=500),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_no_answer_is_unknown(error: Exception):
    with pytest.raises(PaymentUnavailable):
        await _charge(error)


async def test_a_key_still_executing_and_rate_limits_are_waited_out_with_the_same_key():
    in_use = stripe.APIError("idempotency_key_in_use", http_status=409)
    payment, calls = await _charge(in_use, stripe.RateLimitError("slow down"))
    assert payment.status == "succeeded" and calls == 3


async def test_rate_limits_that_do_not_clear_are_unknown():
    limited = [stripe.RateLimitError("slow down") for _ in range(3)]
    with pytest.raises(PaymentUnavailable):
        await _charge(*limited)
