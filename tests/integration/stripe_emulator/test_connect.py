"""Connect through the official SDK against the emulator: accounts the platform creates cannot
take charges until onboarding is complete, Account Links open a one-time onboarding page, Stripe
can take the ability away again (account.updated to Connect endpoints), and a PaymentIntent on an
account that does not exist or cannot charge is refused the way Stripe refuses it."""

from __future__ import annotations

import json
import time

import pytest
import stripe

from tests.support.stripe_emulator import (
    Control,
    Delivery,
    WebhookSink,
    connected_account,
)

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
CONNECT_SECRET = "whsec_connect_tests"
PLATFORM_SECRET = "whsec_platform_tests"
CAPABILITIES = {"card_payments": {"requested": True}, "transfers": {"requested": True}}
LINK = {"refresh_url": "https://shop.test/refresh", "return_url": "https://shop.test/return"}


@pytest.fixture(scope="module")
def control(emulator, sink):
    ctl = Control(emulator.url)
    ctl.add_webhook_endpoint(sink.url("/connect"), CONNECT_SECRET, connect=True)
    ctl.add_webhook_endpoint(sink.url("/platform"), PLATFORM_SECRET)
    yield ctl
    ctl.close()


def deliveries(
    sink: WebhookSink, type_: str, object_id: str, path: str, timeout: float = 5, **fields
):
    """Deliveries of that event type about that object (whose fields have those values)."""

    def match(d: Delivery) -> bool:
        body = json.loads(d.body)
        obj = body["data"]["object"]
        return (
            d.path == path
            and body["type"] == type_
            and obj["id"] == object_id
            and all(obj.get(k) == v for k, v in fields.items())
        )

    return sink.wait_for(match, timeout)


def verified(delivery: Delivery, secret: str = CONNECT_SECRET) -> stripe.Event:
    return stripe.Webhook.construct_event(
        delivery.body, delivery.headers["stripe-signature"], secret, tolerance=300
    )


def charge_params() -> dict:
    return {"amount": 2000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}


def test_a_new_account_cannot_charge_or_be_paid_and_owes_its_details(client):
    account = client.v1.accounts.create(
        params={"type": "express", "capabilities": CAPABILITIES, "metadata": {"store": "7"}}
    )
    assert account.id.startswith("acct_") and account.object == "account"
    assert account.type == "express"
    assert account.charges_enabled is False
    assert account.payouts_enabled is False
    assert account.details_submitted is False
    assert account.capabilities.card_payments == "inactive"
    req = account.requirements
    assert "external_account" in req.currently_due and "tos_acceptance.date" in req.past_due
    assert req.eventually_due == req.currently_due
    assert req.disabled_reason == "requirements.past_due"
    assert account.metadata["store"] == "7"
    assert client.v1.accounts.retrieve(account.id).to_dict() == account.to_dict()


async def test_controller_properties_make_accounts_too(client):
    account = await client.v1.accounts.create_async(
        params={
            "controller": {
                "stripe_dashboard": {"type": "none"},
                "requirement_collection": "application",
                "fees": {"payer": "application"},
                "losses": {"payments": "application"},
            },
            "capabilities": CAPABILITIES,
            "country": "US",
        }
    )
    # `type` is deprecated: an account made from controller properties shows "none"; what it is
    # lives in `controller`.
    assert account.type == "none"
    assert account.controller.stripe_dashboard.type == "none"
    assert account.controller.requirement_collection == "application"
    assert account.charges_enabled is False


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"type": "standard", "capabilities": CAPABILITIES}, "capabilities"),
        ({"type": "custom"}, "capabilities"),
        ({"type": "platinum"}, "type"),
        ({"type": "express", "controller": {"fees": {"payer": "account"}}}, "controller"),
        ({"controller": {"stripe_dashboard": {"type": "full"}}, "nickname": "x"}, "nickname"),
        (
            {"controller": {"losses": {"payments": "application"}}, "capabilities": CAPABILITIES},
            "controller[losses][payments]",
        ),
    ],
)
def test_invalid_account_parameters_are_refused(client, params, param):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.accounts.create(params=params)
    assert caught.value.http_status == 400
    assert caught.value.param == param


def test_only_the_platform_creates_accounts_and_links(client, control):
    account = connected_account(client, control)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.accounts.create(params={"type": "express"}, options={"stripe_account": account})
    assert "signed up for Connect" in caught.value.user_message
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.account_links.create(
            params={"account": account, "type": "account_onboarding", **LINK},
            options={"stripe_account": account},
        )


def test_an_unknown_account_is_a_permission_error(client):
    with pytest.raises(stripe.PermissionError) as caught:
        client.v1.accounts.retrieve("acct_doesnotexist")
    err = caught.value
    assert err.http_status == 403
    assert err.error.type == "invalid_request_error" and err.error.code == "account_invalid"
    assert "does not have access to account 'acct_doesnotexist'" in err.user_message


def test_the_platform_updates_and_lists_its_accounts(client, sink):
    account = client.v1.accounts.create(params={"type": "express", "capabilities": CAPABILITIES})
    updated = client.v1.accounts.update(
        account.id, params={"metadata": {"store": "42"}, "email": "owner@shop.test"}
    )
    assert updated.metadata["store"] == "42" and updated.email == "owner@shop.test"
    [event] = deliveries(sink, "account.updated", account.id, "/connect")
    assert verified(event).account == account.id
    listed = client.v1.accounts.list(params={"limit": 100})
    assert account.id in [a.id for a in listed.data]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.accounts.update(account.id, params={"type": "custom"})
    assert caught.value.param == "type"


async def test_an_account_link_opens_onboarding_once_and_finishing_enables_the_account(
    client, control, sink
):
    account = await client.v1.accounts.create_async(
        params={"type": "express", "capabilities": CAPABILITIES}
    )
    link = await client.v1.account_links.create_async(
        params={"account": account.id, "type": "account_onboarding", **LINK}
    )
    assert link.object == "account_link"
    assert link.url.startswith("http://127.0.0.1:") and "/_emulator/onboarding/" in link.url
    assert link.expires_at - link.created == 300
    assert control.onboard_via_link(link.url) == LINK["return_url"]

    done = await client.v1.accounts.retrieve_async(account.id)
    assert done.charges_enabled and done.payouts_enabled and done.details_submitted
    assert done.requirements.currently_due == [] and done.requirements.disabled_reason is None
    assert done.capabilities.card_payments == "active"
    [event] = deliveries(sink, "account.updated", account.id, "/connect")
    assert verified(event).data.object.charges_enabled is True
    assert deliveries(sink, "account.updated", account.id, "/platform", timeout=0.3) == []
    # Used once: the browser is sent to refresh_url, where the platform makes a new link.
    assert control.onboard_via_link(link.url) == LINK["refresh_url"]


def test_returning_early_is_not_onboarding(client, control):
    account = client.v1.accounts.create(params={"type": "express", "capabilities": CAPABILITIES})
    link = client.v1.account_links.create(
        params={"account": account.id, "type": "account_onboarding", **LINK}
    )
    assert control.onboard_via_link(link.url, action="leave") == LINK["return_url"]
    assert client.v1.accounts.retrieve(account.id).charges_enabled is False


def test_an_expired_link_goes_to_refresh_url(client, control):
    account = client.v1.accounts.create(params={"type": "express", "capabilities": CAPABILITIES})
    control.config(account_link_ttl_seconds=0.2)
    try:
        link = client.v1.account_links.create(
            params={"account": account.id, "type": "account_onboarding", **LINK}
        )
    finally:
        control.config(account_link_ttl_seconds=300)
    time.sleep(0.3)
    assert control.onboard_via_link(link.url) == LINK["refresh_url"]
    assert client.v1.accounts.retrieve(account.id).details_submitted is False


ACCOUNT = "<the new account>"


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"account": "acct_nobody", "type": "account_onboarding", **LINK}, "account"),
        ({"type": "account_onboarding", **LINK}, "account"),
        (
            {"account": ACCOUNT, "type": "account_onboarding", "return_url": "https://a.test"},
            "refresh_url",
        ),
        (
            {"account": ACCOUNT, "type": "account_onboarding", **LINK, "return_url": "x"},
            "return_url",
        ),
        ({"account": ACCOUNT, "type": "account_update", **LINK}, "type"),
    ],
)
def test_invalid_account_links_are_refused(client, params, param):
    account = client.v1.accounts.create(params={"type": "express", "capabilities": CAPABILITIES})
    params = {k: account.id if v == ACCOUNT else v for k, v in params.items()}
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.account_links.create(params=params)
    assert caught.value.param == param


async def test_a_payment_on_an_unknown_account_is_refused_as_on_stripe(client, control):
    before = len(control.requests(path="/v1/payment_intents", status="200"))
    with pytest.raises(stripe.PermissionError) as caught:
        await client.v1.payment_intents.create_async(
            params=charge_params(), options={"stripe_account": "acct_1NotConnected"}
        )
    assert caught.value.http_status == 403
    assert caught.value.error.code == "account_invalid"
    assert len(control.requests(path="/v1/payment_intents", status="200")) == before


def test_a_payment_on_an_account_that_cannot_charge_is_refused(client, control):
    account = client.v1.accounts.create(params={"type": "express", "capabilities": CAPABILITIES})
    options = {"stripe_account": account.id}
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.create(params=charge_params(), options=options)
    assert caught.value.http_status == 400
    assert "`card_payments` capability" in caught.value.user_message
    assert client.v1.payment_intents.list(options=options).data == []  # nothing was made

    # An intent may be created; confirming it is what needs the capability.
    open_intent = client.v1.payment_intents.create(
        params={"amount": 2000, "currency": "usd", "payment_method": "pm_card_visa"},
        options=options,
    )
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.confirm(open_intent.id, options=options)
    control.complete_onboarding(account.id)
    confirmed = client.v1.payment_intents.confirm(open_intent.id, options=options)
    assert confirmed.status == "succeeded"


async def test_stripe_can_disable_charges_again_and_says_so(client, control, sink):
    account = connected_account(client, control)
    options = {"stripe_account": account}
    paid = await client.v1.payment_intents.create_async(params=charge_params(), options=options)
    assert paid.status == "succeeded"

    control.disable_charges(account, "requirements.past_due", past_due=["individual.id_number"])
    after = await client.v1.accounts.retrieve_async(account)
    assert after.charges_enabled is False and after.payouts_enabled is False
    assert after.requirements.disabled_reason == "requirements.past_due"
    assert "individual.id_number" in after.requirements.past_due
    assert "individual.id_number" in after.requirements.currently_due
    [event] = deliveries(sink, "account.updated", account, "/connect", charges_enabled=False)
    assert verified(event).data.object.requirements.disabled_reason == "requirements.past_due"
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.payment_intents.create_async(params=charge_params(), options=options)

    # Owing something with a deadline does not disable the account yet.
    other = connected_account(client, control)
    due = control.add_requirements(other, currently_due=["company.tax_id"])
    assert due["charges_enabled"] is True and due["requirements"]["current_deadline"]


def test_the_platform_itself_charges_without_any_account(client):
    paid = client.v1.payment_intents.create(params=charge_params())
    assert paid.status == "succeeded"
    me = client.v1.accounts.retrieve_current()
    assert me.charges_enabled is True
    # The platform's own id in Stripe-Account acts as the platform.
    again = client.v1.payment_intents.retrieve(paid.id, options={"stripe_account": me.id})
    assert again.id == paid.id


def test_control_api_makes_onboarded_accounts_for_seeds(client, control):
    made = control.create_account(id="acct_SeededStore1", metadata={"store": "1"})
    assert made["id"] == "acct_SeededStore1" and made["charges_enabled"] is True
    paid = client.v1.payment_intents.create(
        params=charge_params(), options={"stripe_account": "acct_SeededStore1"}
    )
    assert paid.status == "succeeded"
    assert control.post("/accounts", {"id": "acct_SeededStore1"}).status_code == 400
    assert control.post("/accounts/acct_nobody/complete_onboarding").status_code == 404
