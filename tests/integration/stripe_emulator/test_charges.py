"""What a charge may be, through the official SDK: PaymentMethods belong to the account they were
made on (the documented test ids work everywhere), amounts below Stripe's minimum for the currency
are refused, and an application fee needs a direct charge, may not exceed the amount, creates an
`application_fee` on the platform and is refunded in proportion when asked."""

from __future__ import annotations

import pytest
import stripe

from tests.support.stripe_emulator import connected_account

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@pytest.fixture(scope="module")
def shop(client, control) -> dict:
    return {"stripe_account": connected_account(client, control)}


@pytest.fixture(scope="module")
def other_shop(client, control) -> dict:
    return {"stripe_account": connected_account(client, control)}


def pay(client, options: dict, pm: str = "pm_card_visa", **extra):
    params = {"amount": 10000, "currency": "usd", "payment_method": pm, "confirm": True, **extra}
    return client.v1.payment_intents.create(params=params, options=options)


# PaymentMethods


def test_a_payment_method_belongs_to_the_account_it_was_made_on(client, shop, other_shop):
    pm = client.v1.payment_methods.create(
        params={"type": "card", "card": {"token": "tok_mastercard"}}, options=shop
    )
    assert pm.id.startswith("pm_") and pm.type == "card"
    assert pm.card.brand == "mastercard" and pm.card.last4 == "4444"
    assert client.v1.payment_methods.retrieve(pm.id, options=shop).id == pm.id
    assert pay(client, shop, pm.id).status == "succeeded"

    for options in (other_shop, {}):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            pay(client, options, pm.id)
        assert caught.value.http_status == 404
        assert caught.value.code == "resource_missing"
        assert caught.value.param == "payment_method"
        assert f"No such PaymentMethod: '{pm.id}'" in caught.value.user_message
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.payment_methods.retrieve(pm.id, options=options)


async def test_a_declining_token_makes_a_declining_method(client, shop):
    pm = await client.v1.payment_methods.create_async(
        params={"type": "card", "card": {"token": "tok_chargeDeclined"}}, options=shop
    )
    with pytest.raises(stripe.CardError) as caught:
        await client.v1.payment_intents.create_async(
            params={"amount": 900, "currency": "usd", "payment_method": pm.id, "confirm": True},
            options=shop,
        )
    assert caught.value.code == "card_declined"


@pytest.mark.parametrize("options", [{}, "shop", "other_shop"])
def test_test_payment_method_ids_work_on_every_account(client, request, options):
    options = request.getfixturevalue(options) if isinstance(options, str) else options
    assert pay(client, options, "pm_card_amex").status == "succeeded"


def test_the_platform_shares_its_payment_method_with_a_connected_account(client, shop):
    mine = client.v1.payment_methods.create(params={"type": "card", "card": {"token": "tok_visa"}})
    with pytest.raises(stripe.InvalidRequestError):
        pay(client, shop, mine.id)  # the platform's own is not the shop's
    shared = client.v1.payment_methods.create(params={"payment_method": mine.id}, options=shop)
    assert shared.id != mine.id and shared.card.last4 == mine.card.last4
    assert pay(client, shop, shared.id).status == "succeeded"


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"type": "card", "card": {"number": "4242424242424242", "exp_month": 1}}, "card[number]"),
        ({"type": "card", "card": {"token": "tok_nonexistent"}}, "card[token]"),
        ({"type": "card"}, "card"),
        ({"card": {"token": "tok_visa"}}, "type"),
        ({"type": "card", "card": {"token": "tok_visa"}, "customer": "cus_nobody"}, "customer"),
    ],
)
def test_payment_methods_stripe_would_refuse(client, params, param):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_methods.create(params=params)
    assert caught.value.param == param


# Minimum amounts (docs.stripe.com/currencies#minimum-and-maximum-charge-amounts)


@pytest.mark.parametrize(
    ("currency", "minimum", "shown"),
    [
        ("usd", 50, "$0.50 usd"),
        ("eur", 50, "€0.50 eur"),
        ("gbp", 30, "£0.30 gbp"),
        ("cad", 50, "0.50 cad"),
        ("aud", 50, "0.50 aud"),
        ("jpy", 50, "¥50 jpy"),
        ("hkd", 400, "4.00 hkd"),
        ("mxn", 1000, "10.00 mxn"),
    ],
)
def test_amounts_below_the_currency_minimum_are_refused(client, currency, minimum, shown):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.create(params={"amount": minimum - 1, "currency": currency})
    err = caught.value
    assert err.http_status == 400 and err.error.type == "invalid_request_error"
    assert err.code == "amount_too_small" and err.param == "amount"
    assert err.user_message == f"Amount must be at least {shown}"
    at_minimum = client.v1.payment_intents.create(params={"amount": minimum, "currency": currency})
    assert at_minimum.amount == minimum


def test_lowering_an_intent_below_the_minimum_is_refused(client):
    intent = client.v1.payment_intents.create(params={"amount": 500, "currency": "gbp"})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.update(intent.id, params={"amount": 29})
    assert caught.value.code == "amount_too_small"
    assert client.v1.payment_intents.retrieve(intent.id).amount == 500


def test_a_currency_without_a_known_minimum_is_refused(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.create(params={"amount": 5000, "currency": "xyz"})
    assert caught.value.param == "currency"


# Application fees


def test_an_application_fee_needs_a_direct_charge(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        pay(client, {}, application_fee_amount=100)
    assert caught.value.param == "application_fee_amount"
    assert caught.value.user_message.startswith(
        "Can only apply an application_fee_amount when the PaymentIntent is attempting a direct "
        "payment (using an OAuth key or Stripe-Account header)"
    )


@pytest.mark.parametrize("fee", [10001, -1])
def test_an_application_fee_cannot_exceed_the_amount_or_be_negative(client, shop, fee):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        pay(client, shop, application_fee_amount=fee)
    assert caught.value.param == "application_fee_amount"


async def test_a_direct_charge_with_a_fee_pays_the_platform(client, shop):
    intent = await client.v1.payment_intents.create_async(
        params={
            "amount": 10000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "application_fee_amount": 1230,
        },
        options=shop,
    )
    charge = await client.v1.charges.retrieve_async(intent.latest_charge, options=shop)
    assert charge.application_fee.startswith("fee_") and charge.application_fee_amount == 1230
    fee = await client.v1.application_fees.retrieve_async(charge.application_fee)
    assert fee.object == "application_fee"
    assert fee.amount == 1230 and fee.amount_refunded == 0 and fee.refunded is False
    assert fee.account == shop["stripe_account"] and fee.charge == charge.id
    assert fee.currency == "usd"
    # The fee is the platform's object, not the connected account's.
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await client.v1.application_fees.retrieve_async(fee.id, options=shop)
    assert caught.value.code == "resource_missing"
    listed = await client.v1.application_fees.list_async(params={"charge": charge.id})
    assert [f.id for f in listed.data] == [fee.id]


def test_refunding_the_fee_is_proportional_and_complete_at_the_end(client, shop):
    intent = pay(client, shop, application_fee_amount=1000)
    charge = client.v1.charges.retrieve(intent.latest_charge, options=shop)

    client.v1.refunds.create(
        params={"payment_intent": intent.id, "amount": 2500, "refund_application_fee": True},
        options=shop,
    )
    fee = client.v1.application_fees.retrieve(charge.application_fee)
    assert fee.amount_refunded == 250 and fee.refunded is False
    assert fee.refunds.total_count == 1 and fee.refunds.data[0].amount == 250

    # Without the flag, the platform keeps its fee.
    client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 2500}, options=shop)
    assert client.v1.application_fees.retrieve(charge.application_fee).amount_refunded == 250

    client.v1.refunds.create(
        params={"payment_intent": intent.id, "refund_application_fee": True}, options=shop
    )
    fee = client.v1.application_fees.retrieve(charge.application_fee)
    assert fee.amount_refunded == 1000 and fee.refunded is True
    assert [r.amount for r in fee.refunds.data] == [750, 250]


def test_a_manual_capture_takes_the_fee_on_what_was_captured(client, shop):
    held = pay(client, shop, capture_method="manual", application_fee_amount=800)
    charge = client.v1.charges.retrieve(held.latest_charge, options=shop)
    assert charge.application_fee is None  # nothing is collected on an authorization
    captured = client.v1.payment_intents.capture(
        held.id, params={"amount_to_capture": 500}, options=shop
    )
    assert captured.amount_received == 500
    charge = client.v1.charges.retrieve(held.latest_charge, options=shop)
    assert charge.application_fee_amount == 500  # capped at the amount captured


def test_a_declined_card_can_be_replaced_on_the_same_intent(client, shop):
    with pytest.raises(stripe.CardError) as caught:
        pay(client, shop, "pm_card_chargeDeclinedInsufficientFunds", application_fee_amount=100)
    intent = caught.value.error.payment_intent
    assert intent.status == "requires_payment_method"
    retried = client.v1.payment_intents.confirm(
        intent.id, params={"payment_method": "pm_card_visa"}, options=shop
    )
    assert retried.status == "succeeded" and retried.last_payment_error is None
    charge = client.v1.charges.retrieve(retried.latest_charge, options=shop)
    assert charge.paid and charge.application_fee_amount == 100
    charges = client.v1.charges.list(params={"payment_intent": intent.id}, options=shop).data
    assert sorted(c.status for c in charges) == ["failed", "succeeded"]
