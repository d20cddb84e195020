"""Idempotency keys and injected faults of the local Stripe emulator, through the official SDK:
replay (incl. a 500 after the object was made), parameter mismatch, concurrent use of one key,
timeouts, rate limits, latency and key expiry."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
import stripe

from tests.support.stripe_emulator import connected_account, sdk_client

# The SDK's HTTPXClient hands httpx a str body; that is the SDK's business, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@pytest.fixture
def mark(control):
    """A value no other test uses, to aim faults at this test's requests only."""
    yield uuid.uuid4().hex[:12]
    control.reset()  # faults and latency this test left


def params(mark: str, **extra) -> dict:
    return {
        "amount": 2500,
        "currency": "usd",
        "payment_method": "pm_card_visa",
        "confirm": True,
        "metadata": {"t": mark},
        **extra,
    }


def created_for(client: stripe.StripeClient, mark: str, **options) -> list:
    """Intents this test made: by list, which is never behind (search lags, as on Stripe)."""
    listed = client.v1.payment_intents.list(params={"limit": 100}, options=options).data
    return [i for i in listed if i.metadata.to_dict().get("t") == mark]


@pytest.fixture(scope="module")
def accounts(client, control) -> list[str]:
    return [connected_account(client, control) for _ in range(3)]


def test_same_key_replays_the_first_response_and_makes_one_object(client, control, mark, accounts):
    options = {"idempotency_key": f"order-{mark}", "stripe_account": accounts[0]}
    first = client.v1.payment_intents.create(params=params(mark), options=options)
    second = client.v1.payment_intents.create(params=params(mark), options=options)
    assert second.id == first.id
    assert second.last_response.body == first.last_response.body  # byte-identical
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.last_response.headers
    assert [i.id for i in created_for(client, mark, stripe_account=accounts[0])] == [first.id]

    log = control.requests(idempotency_key=f"order-{mark}")
    assert [(r["method"], r["status"], r["replayed"]) for r in log] == [
        ("POST", 200, False),
        ("POST", 200, True),
    ]
    assert log[0]["account"] == accounts[0] and log[0]["path"] == "/v1/payment_intents"


def test_key_is_scoped_to_the_account(client, mark, accounts):
    key = {"idempotency_key": f"shared-{mark}"}
    a = client.v1.payment_intents.create(
        params=params(mark), options={**key, "stripe_account": accounts[1]}
    )
    b = client.v1.payment_intents.create(
        params=params(mark), options={**key, "stripe_account": accounts[2]}
    )
    assert a.id != b.id


def test_same_key_other_parameters_is_an_idempotency_error(client, mark):
    options = {"idempotency_key": f"mismatch-{mark}"}
    client.v1.payment_intents.create(params=params(mark), options=options)
    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.payment_intents.create(params=params(mark, amount=2600), options=options)
    assert caught.value.http_status == 400
    assert caught.value.error.type == "idempotency_error"
    assert len(created_for(client, mark)) == 1


def test_a_declined_payment_is_saved_and_replayed(client, mark):
    options = {"idempotency_key": f"decline-{mark}"}
    declined = params(mark, payment_method="pm_card_chargeDeclined")
    errors = []
    for _ in range(2):
        with pytest.raises(stripe.CardError) as caught:
            client.v1.payment_intents.create(params=declined, options=options)
        errors.append(caught.value)
    assert errors[0].http_body == errors[1].http_body
    assert errors[1].headers["Idempotent-Replayed"] == "true"
    assert len(created_for(client, mark)) == 1


def test_a_request_that_fails_validation_does_not_consume_the_key(client, mark):
    options = {"idempotency_key": f"invalid-{mark}"}
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.create(params=params(mark, currency="dollars"), options=options)
    fixed = client.v1.payment_intents.create(params=params(mark), options=options)
    assert fixed.status == "succeeded"
    assert "Idempotent-Replayed" not in fixed.last_response.headers


async def test_concurrent_requests_with_one_key_get_409_until_the_first_finishes(
    client, control, mark
):
    control.latency(ms=400, path="/v1/payment_intents", match={"metadata[t]": mark})
    options = {"idempotency_key": f"race-{mark}"}
    results = await asyncio.gather(
        *(
            client.v1.payment_intents.create_async(params=params(mark), options=options)
            for _ in range(4)
        ),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, stripe.PaymentIntent)]
    conflicts = [r for r in results if isinstance(r, stripe.StripeError)]
    assert len(winners) == 1 and len(conflicts) == 3
    for err in conflicts:
        assert err.http_status == 409
        # The SDK maps 409 to APIError and keeps `code` only on the error object.
        assert err.error.code == "idempotency_key_in_use"
        assert err.error.type == "idempotency_error"
    replay = await client.v1.payment_intents.create_async(params=params(mark), options=options)
    assert replay.id == winners[0].id
    assert replay.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(created_for(client, mark)) == 1


async def test_error_after_create_is_replayed_and_the_intent_can_be_found(
    emulator, client, control, mark
):
    control.fault(
        kind="error_after_create", path="/v1/payment_intents", match={"metadata[t]": mark}
    )
    # With the SDK's own retries on: Stripe-Should-Retry: false stops it from retrying the 500.
    retrying = sdk_client(emulator.url, retries=2)
    options = {"idempotency_key": f"boom-{mark}"}
    with pytest.raises(stripe.APIError) as first:
        await retrying.v1.payment_intents.create_async(params=params(mark), options=options)
    assert first.value.http_status == 500
    assert len(control.requests(idempotency_key=f"boom-{mark}")) == 1

    with pytest.raises(stripe.APIError) as again:
        await client.v1.payment_intents.create_async(params=params(mark), options=options)
    assert again.value.http_status == 500
    assert again.value.headers["Idempotent-Replayed"] == "true"
    assert again.value.http_body == first.value.http_body

    found = created_for(client, mark)
    assert len(found) == 1 and found[0].status == "succeeded"


def test_error_before_create_makes_nothing_and_frees_the_key(client, control, mark):
    control.fault(
        kind="error_before_create", path="/v1/payment_intents", match={"metadata[t]": mark}
    )
    options = {"idempotency_key": f"early-{mark}"}
    with pytest.raises(stripe.APIError):
        client.v1.payment_intents.create(params=params(mark), options=options)
    assert created_for(client, mark) == []
    assert (
        client.v1.payment_intents.create(params=params(mark), options=options).status == "succeeded"
    )


def test_timeout_leaves_the_intent_created_and_the_retry_gets_it(emulator, client, control, mark):
    control.fault(
        kind="timeout", seconds=2, path="/v1/payment_intents", match={"metadata[t]": mark}
    )
    impatient = sdk_client(emulator.url, timeout=0.5)
    options = {"idempotency_key": f"slow-{mark}"}
    started = time.monotonic()
    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.payment_intents.create(params=params(mark), options=options)
    assert time.monotonic() - started < 1.5
    found = created_for(client, mark)
    assert len(found) == 1 and found[0].status == "succeeded"
    retried = impatient.v1.payment_intents.create(params=params(mark), options=options)
    assert retried.id == found[0].id
    assert retried.last_response.headers["Idempotent-Replayed"] == "true"


def test_rate_limit_is_a_429_and_saves_nothing(client, control, mark):
    control.fault(
        kind="rate_limit", path="/v1/payment_intents", times=2, match={"metadata[t]": mark}
    )
    options = {"idempotency_key": f"busy-{mark}"}
    for _ in range(2):
        with pytest.raises(stripe.RateLimitError) as caught:
            client.v1.payment_intents.create(params=params(mark), options=options)
        assert caught.value.http_status == 429 and caught.value.error.code == "rate_limit"
    assert created_for(client, mark) == []
    created = client.v1.payment_intents.create(params=params(mark), options=options)
    assert "Idempotent-Replayed" not in created.last_response.headers


def test_latency_applies_only_where_matched(client, control, mark):
    control.latency(ms=300, path="/v1/payment_intents", match={"metadata[sku]": f"hot-{mark}"})
    started = time.monotonic()
    client.v1.payment_intents.create(params=params(mark, metadata={"t": mark, "sku": "cold"}))
    fast = time.monotonic() - started
    started = time.monotonic()
    client.v1.payment_intents.create(
        params=params(mark, metadata={"t": mark, "sku": f"hot-{mark}"})
    )
    slow = time.monotonic() - started
    assert slow >= 0.3 and fast < 0.3


def test_keys_expire_after_the_configured_ttl(client, control, mark):
    ttl = control.config()["idempotency_ttl_seconds"]
    control.config(idempotency_ttl_seconds=0.2)
    try:
        options = {"idempotency_key": f"old-{mark}"}
        first = client.v1.payment_intents.create(params=params(mark), options=options)
        time.sleep(0.3)
        # Pruned: the same key with other parameters is simply a new request.
        second = client.v1.payment_intents.create(params=params(mark, amount=99), options=options)
        assert second.id != first.id
    finally:
        control.config(idempotency_ttl_seconds=ttl)


def test_control_api_refuses_unknown_fault_kinds(emulator):
    reply = httpx.post(f"{emulator.url}/_emulator/faults", json={"kind": "meteor"})
    assert reply.status_code == 400
    assert "kind must be one of" in reply.json()["error"]["message"]
