"""What a client may not assume, through the official SDK: search is behind (a new or changed
object is found only `search_lag_seconds` later, 60 s by default, while list and retrieve are
current); the API version is checked, recorded and echoed; webhook endpoints made through the API
are routed like Stripe's (connect=true gets connected accounts' events only)."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import stripe

from devstack.stripe_emulator.process import start_emulator
from tests.support.stripe_emulator import (
    Control,
    Delivery,
    connected_account,
)

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
LAG = 1.0  # this module's search lag: short enough to wait out, long enough to observe


@pytest.fixture(scope="module")
def emulator():
    with start_emulator(search_lag=LAG) as running:
        yield running


def test_search_lag_defaults_to_a_minute():
    with start_emulator() as fresh:
        ctl = Control(fresh.url)
        assert ctl.config()["search_lag_seconds"] == 60
        ctl.close()


async def test_a_new_intent_is_not_searchable_until_the_lag_has_passed(client, control):
    account = {"stripe_account": connected_account(client, control)}
    query = {"query": "metadata['order']:'1001'"}
    intent = await client.v1.payment_intents.create_async(
        params={
            "amount": 2500,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "metadata": {"order": "1001"},
        },
        options=account,
    )
    assert (await client.v1.payment_intents.search_async(params=query, options=account)).data == []
    # List and retrieve are never behind: they are what a read-after-write flow must use.
    listed = await client.v1.payment_intents.list_async(options=account)
    assert [i.id for i in listed.data] == [intent.id]
    assert (await client.v1.payment_intents.retrieve_async(intent.id, options=account)).id

    await asyncio.sleep(LAG + 0.2)
    found = await client.v1.payment_intents.search_async(params=query, options=account)
    assert [i.id for i in found.data] == [intent.id]


def test_a_changed_intent_shows_its_old_state_in_search_for_a_while(client):
    intent = client.v1.payment_intents.create(
        params={"amount": 3100, "currency": "eur", "metadata": {"batch": "stale"}}
    )
    time.sleep(LAG + 0.2)
    client.v1.payment_intents.confirm(intent.id, params={"payment_method": "pm_card_visa"})
    query = {"query": "metadata['batch']:'stale'"}
    [seen] = client.v1.payment_intents.search(params=query).data
    assert seen.status == "requires_payment_method"  # what it was a moment ago
    assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"
    time.sleep(LAG + 0.2)
    [seen] = client.v1.payment_intents.search(params=query).data
    assert seen.status == "succeeded"


def test_charges_search_lags_too(client, control):
    intent = client.v1.payment_intents.create(
        params={
            "amount": 1800,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "metadata": {"kind": "charge-search"},
        }
    )
    query = {"query": f"payment_intent:'{intent.id}' AND refunded:'false'"}
    assert client.v1.charges.search(params=query).data == []
    control.config(search_lag_seconds=0)
    try:
        [charge] = client.v1.charges.search(params=query).data
        assert charge.id == intent.latest_charge
    finally:
        control.config(search_lag_seconds=LAG)


def test_the_sdk_pins_its_api_version_and_the_emulator_echoes_it(client, control):
    intent = client.v1.payment_intents.create(params={"amount": 700, "currency": "usd"})
    [row] = [r for r in control.requests(path="/v1/payment_intents") if r["status"] == 200][-1:]
    assert row["stripe_version"] == stripe.api_version
    assert intent.last_response.headers["Stripe-Version"] == stripe.api_version
    [event] = control.events(type="payment_intent.created")[:1]
    assert event["api_version"] == stripe.api_version


@pytest.mark.parametrize("version", ["2019-2-19", "2024-13-01", "yesterday", "2099-01-01.zinnia"])
def test_a_malformed_or_unknown_api_version_is_refused(emulator, version):
    reply = httpx.get(
        f"{emulator.url}/v1/payment_intents",
        headers={"Authorization": "Bearer sk_test_x", "Stripe-Version": version},
    )
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"] == f"Invalid Stripe API version: {version}"


def test_an_older_version_is_recorded_and_stamped_on_its_events(emulator, control):
    reply = httpx.post(
        f"{emulator.url}/v1/payment_intents",
        headers={"Authorization": "Bearer sk_test_x", "Stripe-Version": "2024-06-20"},
        data={"amount": "900", "currency": "usd", "metadata[v]": "old"},
    )
    assert reply.status_code == 200 and reply.headers["Stripe-Version"] == "2024-06-20"
    intent_id = reply.json()["id"]
    [event] = [
        e
        for e in control.events(type="payment_intent.created")
        if e["data"]["object"]["id"] == intent_id
    ]
    assert event["api_version"] == "2024-06-20"
    assert control.requests(stripe_version="2024-06-20")[0]["path"] == "/v1/payment_intents"


def test_webhook_endpoints_made_through_the_api_route_like_stripe(client, control, sink):
    platform = client.v1.webhook_endpoints.create(
        params={"url": sink.url("/api-platform"), "enabled_events": ["payment_intent.succeeded"]}
    )
    connect = client.v1.webhook_endpoints.create(
        params={"url": sink.url("/api-connect"), "enabled_events": ["*"], "connect": True}
    )
    try:
        assert platform.secret.startswith("whsec_") and connect.secret != platform.secret
        # The secret is shown once, by the create call.
        assert "secret" not in client.v1.webhook_endpoints.retrieve(connect.id).to_dict()
        account = connected_account(client, control)
        theirs = client.v1.payment_intents.create(
            params={"amount": 600, "currency": "usd", "payment_method": "pm_card_visa"}
            | {"confirm": True},
            options={"stripe_account": account},
        )
        ours = client.v1.payment_intents.create(
            params={"amount": 600, "currency": "usd", "payment_method": "pm_card_visa"}
            | {"confirm": True}
        )

        def about(intent_id: str, path: str):
            def match(d: Delivery) -> bool:
                body = json.loads(d.body)
                return (
                    d.path == path
                    and body["type"] == "payment_intent.succeeded"
                    and body["data"]["object"]["id"] == intent_id
                )

            return match

        [to_connect] = sink.wait_for(about(theirs.id, "/api-connect"))
        event = stripe.Webhook.construct_event(
            to_connect.body, to_connect.headers["stripe-signature"], connect.secret
        )
        assert event.account == account
        [to_platform] = sink.wait_for(about(ours.id, "/api-platform"))
        stripe.Webhook.construct_event(
            to_platform.body, to_platform.headers["stripe-signature"], platform.secret
        )
        assert sink.wait_for(about(theirs.id, "/api-platform"), timeout=0.3) == []
        assert sink.wait_for(about(ours.id, "/api-connect"), timeout=0.3) == []
        listed = client.v1.webhook_endpoints.list()
        assert {platform.id, connect.id} <= {e.id for e in listed.data}
    finally:
        client.v1.webhook_endpoints.delete(platform.id)
        client.v1.webhook_endpoints.delete(connect.id)
    remaining = {e.id for e in client.v1.webhook_endpoints.list().data}
    assert not remaining & {platform.id, connect.id}


def test_webhook_endpoints_need_events_and_a_url(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.webhook_endpoints.create(params={"url": "https://shop.test/hook"})
    assert caught.value.param == "enabled_events"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.webhook_endpoints.create(params={"url": "nope", "enabled_events": ["*"]})
    assert caught.value.param == "url"
