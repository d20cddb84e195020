"""Webhooks from the local Stripe emulator verify with the official SDK's
`stripe.Webhook.construct_event` (300 s tolerance), and forged or stale ones do not."""

from __future__ import annotations

import json
import time

import pytest
import stripe

from devstack.stripe_emulator.process import start_emulator
from tests.support.stripe_emulator import (
    Delivery,
    connected_account,
)

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
SECRET = "whsec_emulator_test_secret"
CONNECT_SECRET = "whsec_emulator_connect_secret"


@pytest.fixture(scope="module")
def emulator(sink):
    # The CLI flags are how `make run` registers the checkout service's endpoints: one for the
    # platform's own events, one (Stripe's connect=true) for connected accounts' events.
    with start_emulator(
        webhook_urls=[sink.url("/cli")],
        webhook_secret=SECRET,
        connect_webhook_urls=[sink.url("/connect")],
        connect_webhook_secret=CONNECT_SECRET,
    ) as running:
        yield running


def event_about(object_id: str, event_type: str, path: str = "/cli"):
    def match(d: Delivery) -> bool:
        body = json.loads(d.body)
        return (
            d.path == path
            and body["type"] == event_type
            and body["data"]["object"]["id"] == object_id
        )

    return match


def verified(delivery: Delivery, secret: str = SECRET) -> stripe.Event:
    return stripe.Webhook.construct_event(
        delivery.body, delivery.headers["stripe-signature"], secret, tolerance=300
    )


@pytest.fixture(scope="module")
def account(client, control) -> str:
    return connected_account(client, control)


async def test_success_webhook_verifies_and_names_the_connected_account(client, sink, account):
    intent = await client.v1.payment_intents.create_async(
        params={
            "amount": 4200,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
        },
        options={"stripe_account": account, "idempotency_key": "hook-success"},
    )
    [delivery] = sink.wait_for(event_about(intent.id, "payment_intent.succeeded", "/connect"))
    event = verified(delivery, CONNECT_SECRET)
    assert event.id.startswith("evt_")
    assert event.type == "payment_intent.succeeded"
    assert event.account == account
    assert event.data.object.status == "succeeded" and event.data.object.amount == 4200
    assert event.request.idempotency_key == "hook-success"
    fetched = await client.v1.events.retrieve_async(event.id, options={"stripe_account": account})
    assert fetched.type == event.type
    # A connected account's event goes to Connect endpoints only.
    assert sink.wait_for(event_about(intent.id, "payment_intent.succeeded"), timeout=0.3) == []


def test_decline_and_refund_send_their_events(client, sink):
    with pytest.raises(stripe.CardError) as caught:
        client.v1.payment_intents.create(
            params={
                "amount": 500,
                "currency": "usd",
                "payment_method": "pm_card_chargeDeclined",
                "confirm": True,
            }
        )
    failed_id = caught.value.error.payment_intent.id
    [failed] = sink.wait_for(event_about(failed_id, "payment_intent.payment_failed"))
    assert verified(failed).data.object.last_payment_error.decline_code == "generic_decline"
    assert "account" not in json.loads(failed.body)  # a platform event names no account
    # … and goes to platform endpoints only.
    assert (
        sink.wait_for(event_about(failed_id, "payment_intent.payment_failed", "/connect"), 0.3)
        == []
    )

    paid = client.v1.payment_intents.create(
        params={"amount": 800, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    client.v1.refunds.create(params={"payment_intent": paid.id, "amount": 300})
    [refunded] = sink.wait_for(event_about(paid.latest_charge, "charge.refunded"))
    charge = verified(refunded).data.object
    assert charge.object == "charge" and charge.amount_refunded == 300


def test_three_d_secure_completion_is_delivered(client, control, sink, account):
    intent = client.v1.payment_intents.create(
        params={
            "amount": 1200,
            "currency": "usd",
            "payment_method": "pm_card_threeDSecure2Required",
            "confirm": True,
        },
        options={"stripe_account": account},
    )
    succeeded = event_about(intent.id, "payment_intent.succeeded", "/connect")
    assert sink.wait_for(succeeded, timeout=0.3) == []
    control.authenticate(intent.id, "succeed")
    [delivery] = sink.wait_for(succeeded)
    assert verified(delivery, CONNECT_SECRET).account == account


def test_endpoint_added_at_run_time_gets_its_own_secret(client, control, sink):
    endpoint = control.add_webhook_endpoint(sink.url("/runtime"), secret="whsec_runtime")
    try:
        intent = client.v1.payment_intents.create(
            params={
                "amount": 900,
                "currency": "gbp",
                "payment_method": "pm_card_visa",
                "confirm": True,
            }
        )
        [delivery] = sink.wait_for(event_about(intent.id, "payment_intent.succeeded", "/runtime"))
        assert verified(delivery, "whsec_runtime").data.object.currency == "gbp"
        with pytest.raises(stripe.SignatureVerificationError):
            verified(delivery, SECRET)
    finally:
        control._http.delete(f"/webhook_endpoints/{endpoint['id']}")


def test_tampered_payload_and_stale_signature_are_rejected(client, control, sink):
    intent = client.v1.payment_intents.create(
        params={"amount": 100, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    [delivery] = sink.wait_for(event_about(intent.id, "payment_intent.succeeded"))
    header = delivery.headers["stripe-signature"]
    tampered = delivery.body.replace(b'"amount": 100', b'"amount": 1')
    assert tampered != delivery.body
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(tampered, header, SECRET, tolerance=300)

    payload = delivery.body.decode()
    stale = control.sign(payload, SECRET, timestamp=int(time.time()) - 600)
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.Webhook.construct_event(payload, stale, SECRET, tolerance=300)
    fresh = control.sign(payload, SECRET)
    assert stripe.Webhook.construct_event(payload, fresh, SECRET, tolerance=300).id


def test_resend_delivers_the_same_event_again(control, client, sink):
    intent = client.v1.payment_intents.create(
        params={"amount": 150, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    match = event_about(intent.id, "payment_intent.succeeded")
    [first] = sink.wait_for(match)
    event_id = json.loads(first.body)["id"]

    def deliveries() -> list[dict]:
        events = control.events(type="payment_intent.succeeded")
        return next(e["deliveries"] for e in events if e["id"] == event_id)

    deadline = time.monotonic() + 5
    while not deliveries() and time.monotonic() < deadline:
        time.sleep(0.02)  # the emulator records an attempt once it has read the answer
    assert deliveries()[0]["status"] == 200

    old = int(time.time()) - 3600
    control.resend(event_id, timestamp=old)
    deadline = time.monotonic() + 5
    while len(sink.wait_for(match)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    again = sink.wait_for(match)[1]
    assert again.body == first.body  # same event, same bytes: receivers dedupe by id
    assert again.headers["stripe-signature"].startswith(f"t={old},")
    with pytest.raises(stripe.SignatureVerificationError):
        verified(again)
