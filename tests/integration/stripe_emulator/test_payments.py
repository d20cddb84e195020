"""The local Stripe emulator driven only through the official `stripe` SDK (sync and async):
payment outcomes, Connect isolation, refunds, search and list."""

from __future__ import annotations

import uuid

import pytest
import stripe

from tests.support.stripe_emulator import connected_account

# The SDK's HTTPXClient hands httpx a str body; that is the SDK's business, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


def tag() -> str:
    return uuid.uuid4().hex[:12]


def intent_params(pm: str = "pm_card_visa", **extra) -> dict:
    return {"amount": 1999, "currency": "usd", "payment_method": pm, "confirm": True, **extra}


def test_visa_succeeds_and_can_be_read_back(client):
    created = client.v1.payment_intents.create(
        params=intent_params(metadata={"order": "1001"}, description="Order #1001")
    )
    assert created.id.startswith("pi_")
    assert created.object == "payment_intent"
    assert created.status == "succeeded"
    assert created.amount == 1999 and created.amount_received == 1999
    assert created.latest_charge.startswith("ch_")
    assert created.client_secret.startswith(f"{created.id}_secret_")
    assert created.metadata["order"] == "1001"
    assert created.livemode is False

    fetched = client.v1.payment_intents.retrieve(created.id)
    assert fetched.to_dict() == created.to_dict()
    charge = client.v1.charges.retrieve(created.latest_charge)
    assert charge.paid and charge.captured and charge.amount_captured == 1999


@pytest.mark.parametrize("pm", ["pm_card_chargeDeclined", "pm_card_visa_chargeDeclined"])
async def test_decline_is_a_card_error_and_leaves_the_intent_awaiting_a_method(client, pm):
    with pytest.raises(stripe.CardError) as caught:
        await client.v1.payment_intents.create_async(params=intent_params(pm))
    err = caught.value
    assert err.http_status == 402
    assert err.code == "card_declined"
    assert err.error.decline_code == "generic_decline"
    intent = err.error.payment_intent
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error.decline_code == "generic_decline"

    fetched = await client.v1.payment_intents.retrieve_async(intent.id)
    assert fetched.status == "requires_payment_method"
    assert fetched.last_payment_error.code == "card_declined"
    # A new method can be tried on the same intent.
    retried = await client.v1.payment_intents.confirm_async(
        intent.id, params={"payment_method": "pm_card_visa"}
    )
    assert retried.status == "succeeded" and retried.last_payment_error is None


@pytest.mark.parametrize("outcome", ["succeed", "fail"])
async def test_three_d_secure_waits_for_the_shopper(client, control, outcome):
    intent = await client.v1.payment_intents.create_async(
        params=intent_params("pm_card_threeDSecure2Required")
    )
    assert intent.status == "requires_action"
    assert intent.next_action.type == "use_stripe_sdk"
    assert intent.client_secret

    assert control.authenticate(intent.id, outcome).status_code == 200
    after = await client.v1.payment_intents.retrieve_async(intent.id)
    if outcome == "succeed":
        assert after.status == "succeeded" and after.latest_charge
    else:
        assert after.status == "requires_payment_method"
        assert after.last_payment_error.code == "payment_intent_authentication_failure"
    # Only an intent that waits for authentication can be authenticated.
    assert control.authenticate(intent.id, "succeed").status_code == 400


def test_authentication_required_card_also_asks_for_action(client):
    intent = client.v1.payment_intents.create(
        params=intent_params("pm_card_authenticationRequired")
    )
    assert intent.status == "requires_action"


async def test_connect_account_scopes_every_object(client, control):
    mark = tag()
    control.config(search_lag_seconds=0)
    first, second = connected_account(client, control), connected_account(client, control)
    try:
        intent = await client.v1.payment_intents.create_async(
            params=intent_params(metadata={"t": mark}), options={"stripe_account": first}
        )
        own = await client.v1.payment_intents.retrieve_async(
            intent.id, options={"stripe_account": first}
        )
        assert own.id == intent.id
        found = await client.v1.payment_intents.search_async(
            params={"query": f"metadata['t']:'{mark}'"}, options={"stripe_account": first}
        )
        assert [i.id for i in found.data] == [intent.id]
        await _invisible_elsewhere(client, intent.id, mark, second)
    finally:
        control.config(search_lag_seconds=60)


async def _invisible_elsewhere(client, intent_id: str, mark: str, other: str) -> None:
    for options in ({"stripe_account": other}, {}):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            await client.v1.payment_intents.retrieve_async(intent_id, options=options)
        assert caught.value.http_status == 404
        assert caught.value.code == "resource_missing"
        found = await client.v1.payment_intents.search_async(
            params={"query": f"metadata['t']:'{mark}'"}, options=options
        )
        assert found.data == []
        with pytest.raises(stripe.InvalidRequestError):
            await client.v1.refunds.create_async(
                params={"payment_intent": intent_id}, options=options
            )


def test_api_key_is_required(emulator):
    for key in ("sk_live_nope", "pk_test_publishable"):
        bad = stripe.StripeClient(
            key,
            base_addresses={"api": emulator.url},
            http_client=stripe.HTTPXClient(allow_sync_methods=True),
        )
        with pytest.raises(stripe.AuthenticationError) as caught:
            bad.v1.payment_intents.list()
        assert caught.value.http_status == 401


def test_unknown_parameter_is_refused(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.create(params={**intent_params(), "amount_total": 5})
    assert caught.value.param == "amount_total"


def test_refunds_partial_then_rest_then_none(client):
    intent = client.v1.payment_intents.create(params=intent_params())
    part = client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 500})
    assert part.id.startswith("re_") and part.amount == 500 and part.status == "succeeded"
    assert client.v1.refunds.retrieve(part.id).payment_intent == intent.id

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1500})
    assert caught.value.http_status == 400
    assert caught.value.code == "amount_too_large"

    rest = client.v1.refunds.create(params={"payment_intent": intent.id})
    assert rest.amount == 1499
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert charge.refunded and charge.amount_refunded == 1999

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1})
    assert caught.value.code == "charge_already_refunded"


def test_only_a_paid_intent_can_be_refunded(client):
    pending = client.v1.payment_intents.create(params={"amount": 700, "currency": "eur"})
    assert pending.status == "requires_payment_method"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"payment_intent": pending.id})


async def test_manual_capture_and_cancel(client):
    held = await client.v1.payment_intents.create_async(
        params=intent_params(capture_method="manual")
    )
    assert held.status == "requires_capture" and held.amount_capturable == 1999
    captured = await client.v1.payment_intents.capture_async(held.id)
    assert captured.status == "succeeded" and captured.amount_received == 1999

    open_intent = await client.v1.payment_intents.create_async(
        params={"amount": 300, "currency": "usd", "payment_method": "pm_card_visa"}
    )
    assert open_intent.status == "requires_confirmation"
    canceled = await client.v1.payment_intents.cancel_async(
        open_intent.id, params={"cancellation_reason": "abandoned"}
    )
    assert canceled.status == "canceled" and canceled.cancellation_reason == "abandoned"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await client.v1.payment_intents.cancel_async(captured.id)
    assert caught.value.code == "payment_intent_unexpected_state"


@pytest.fixture
def immediate_search(control):
    """Search without its lag, for tests of the query language itself."""
    control.config(search_lag_seconds=0)
    yield
    control.config(search_lag_seconds=60)


def test_search_by_metadata_status_and_amount(client, immediate_search):
    mark = tag()
    for amount, pm in ((1000, "pm_card_visa"), (2000, "pm_card_visa"), (3000, None)):
        params = {"amount": amount, "currency": "usd", "metadata": {"batch": mark}}
        if pm:
            params |= {"payment_method": pm, "confirm": True}
        client.v1.payment_intents.create(params=params)

    def search(query: str) -> list[int]:
        found = client.v1.payment_intents.search(params={"query": query})
        assert found.object == "search_result"
        return sorted(i.amount for i in found.data)

    assert search(f"metadata['batch']:'{mark}'") == [1000, 2000, 3000]
    assert search(f"metadata['batch']:'{mark}' AND status:'succeeded'") == [1000, 2000]
    assert search(f'metadata["batch"]:"{mark}" AND amount>1500') == [2000, 3000]
    assert search(f"metadata['batch']:'{mark}' AND -status:'succeeded'") == [3000]
    with pytest.raises(stripe.InvalidRequestError):
        search(f"metadata['batch']:'{mark}' AND status:'x' OR amount>1")


def test_list_pages_newest_first(client, control):
    account = {"stripe_account": connected_account(client, control)}
    ids = [
        client.v1.payment_intents.create(
            params={"amount": 100 + i, "currency": "usd"}, options=account
        ).id
        for i in range(3)
    ]
    first = client.v1.payment_intents.list(params={"limit": 2}, options=account)
    assert first.object == "list" and first.has_more
    assert [i.id for i in first.data] == ids[::-1][:2]
    rest = client.v1.payment_intents.list(
        params={"limit": 2, "starting_after": first.data[-1].id}, options=account
    )
    assert [i.id for i in rest.data] == ids[:1] and not rest.has_more
