"""Taking real money safely, through Envoy, the official SDK and the strict Stripe emulator:
Connect onboarding gates checkout, lost answers never make a second charge (search lags 60 s
here, as on Stripe), unexpected payments are refunded, refused requests give the stock back at
once, and each way money could be kept without an order is reproduced and ends in exactly one
order or a full refund."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import asyncpg
import httpx
import pytest

from devstack.dsn import with_database
from tests.e2e.api_client import PLATFORM_HOST, admin
from tests.e2e.checkout_support import (
    Emulator,
    admin_sql,
    cart_with,
    checkout_body,
    merchant,
    stock,
    stock_variant,
    wait,
)
from tests.support.stripe_emulator import Control, sdk_client


@pytest.fixture(scope="module")
def emulator(stack):
    em = Emulator(stack.stripe_url)
    yield em
    em.clear()


@pytest.fixture(scope="module")
def control(stack):
    c = Control(stack.stripe_url)
    yield c
    c.close()


@pytest.fixture(scope="module")
def sdk(stack):
    return sdk_client(stack.stripe_url)


@pytest.fixture(scope="module")
async def shop(stack, http):
    return await merchant(stack, http, "pay")


def _buy(http, store, cart: str, key: str, **body) -> httpx.Response:
    return http.post(
        f"/v1/carts/{cart}/checkout",
        headers={"host": store.host, "idempotency-key": key},
        json={**checkout_body(), **body},
    )


def _until_paid(http, store, cart: str, key: str, within: float = 30.0, **body) -> httpx.Response:
    """Retries with the same key, as a client told "retry with the same Idempotency-Key" does."""
    deadline = time.monotonic() + within
    while True:
        r = _buy(http, store, cart, key, **body)
        if r.status_code == 200 or time.monotonic() > deadline:
            return r
        assert r.status_code in (409, 503), r.text
        time.sleep(0.5)


async def _account(stack, store) -> str:
    rows = await admin_sql(
        stack, "SELECT stripe_account_id FROM stores WHERE id = $1", int(store.id)
    )
    return rows[0]["stripe_account_id"]


async def _checkout_row(stack, store, key: str):
    rows = await admin_sql(
        stack,
        "SELECT * FROM checkouts WHERE store_id = $1 AND idempotency_key = $2",
        int(store.id),
        key,
    )
    return rows[0] if rows else None


async def _orders_for(stack, checkout_id) -> int:
    rows = await admin_sql(
        stack, "SELECT count(*) AS n FROM orders WHERE checkout_id = $1", checkout_id
    )
    return rows[0]["n"]


def _intent_keys(control: Control, checkout_id) -> set[str]:
    """Distinct provider keys the checkout's creates used (a replay of one key counts once)."""
    return {
        r["idempotency_key"]
        for r in control.requests(method="POST", path="/v1/payment_intents")
        if str(checkout_id) in (r["idempotency_key"] or "")
    }


async def _wait_sql(stack, query: str, *args, within: float = 30.0):
    deadline = time.monotonic() + within
    while True:
        rows = await admin_sql(stack, query, *args)
        if rows and all(v for v in rows[0].values()):
            return rows[0]
        assert time.monotonic() < deadline, f"timed out waiting for: {query} {args}"
        await asyncio.sleep(0.2)


# --- onboarding gates checkout ------------------------------------------------------------


async def test_a_store_takes_payments_only_once_stripe_enables_charges(stack, http, control):
    store = await merchant(stack, http, "onb", onboarded=False)
    variant = stock_variant(http, store, 3)
    cart = cart_with(http, store, variant["id"])
    refused = _buy(http, store, cart, "onb-1")
    assert refused.status_code == 400
    assert "cannot accept payments yet" in refused.json()["message"]
    assert await stock(stack, variant["id"]) == 3

    started = http.post("/v1/admin/payments/onboarding", headers=admin(store), json={})
    assert started.status_code == 200, started.text
    account, url = started.json()["account_id"], started.json()["url"]
    again = http.post("/v1/admin/payments/onboarding", headers=admin(store), json={})
    assert again.json()["account_id"] == account and again.json()["url"] != url
    # The merchant finishes on Stripe's page, which sends them back to their own store's host.
    assert control.onboard_via_link(url).startswith(f"https://{store.host}/admin/payments/")
    # account.updated (a Connect event) alone turns payments on: nobody asked for the status.
    await _wait_sql(stack, "SELECT charges_enabled FROM stores WHERE id = $1", int(store.id))
    assert _buy(http, store, cart, "onb-1").status_code == 200  # the same key tries again

    control.disable_charges(account)
    await _wait_sql(
        stack, "SELECT NOT charges_enabled AS off FROM stores WHERE id = $1", int(store.id)
    )
    later = _buy(http, store, cart_with(http, store, variant["id"]), "onb-2")
    assert later.status_code == 400 and "cannot accept payments yet" in later.json()["message"]
    assert await stock(stack, variant["id"]) == 2
    status = http.get("/v1/admin/payments", headers=admin(store)).json()
    assert status["charges_enabled"] is False
    assert status["disabled_reason"] == "requirements.past_due" and status["requirements_due"]


def test_payments_admin_needs_its_scope(http, shop):
    r = http.post(
        "/v1/admin/access_tokens",
        headers=admin(shop),
        json={"name": "orders only", "scopes": ["read_orders"]},
    )
    narrow = {"host": shop.host, "authorization": f"Bearer {r.json()['token']}"}
    assert http.get("/v1/admin/payments", headers=narrow).status_code == 403
    assert http.get("/v1/admin/payments", headers=admin(shop)).json()["charges_enabled"]


def test_balance_and_payouts_are_read_from_stripe(http, shop, control):
    paid = _buy(http, shop, cart_with(http, shop, stock_variant(http, shop, 1)["id"]), "bal-1")
    assert paid.status_code == 200
    balance = http.get("/v1/admin/payments/balance", headers=admin(shop)).json()
    assert sum(int(m["amount_minor"]) for m in balance["pending"]) > 0
    payouts = http.get("/v1/admin/payments/payouts", headers=admin(shop)).json()
    assert payouts["payouts"] == [] and payouts["next_page_token"] == ""
    bad = http.get(
        "/v1/admin/payments/payouts", headers=admin(shop), params={"page_token": "x'; drop"}
    )
    assert bad.status_code == 400 and "page_token" in bad.json()["message"]


# --- lost answers: the same key, never search ---------------------------------------------


async def test_a_lost_answer_with_search_lagging_makes_one_intent_and_one_order(
    stack, http, shop, emulator, control
):
    assert control.config()["search_lag_seconds"] >= 60
    variant = stock_variant(http, shop, 5)
    cart = cart_with(http, shop, variant["id"])
    emulator.fault("error_after_create")  # the intent exists; its key replays a 500
    first = _buy(http, shop, cart, "lost-1")
    assert first.status_code == 503 and "same Idempotency-Key" in first.json()["message"]
    paid = _until_paid(http, shop, cart, "lost-1")
    assert paid.status_code == 200, paid.text
    checkout_id = paid.json()["checkout_id"]
    assert await _orders_for(stack, uuid.UUID(checkout_id)) == 1
    assert len(_intent_keys(control, checkout_id)) == 1
    assert await stock(stack, variant["id"]) == 4


async def test_the_recovery_worker_settles_a_lost_answer_without_any_retry(
    stack, http, shop, emulator, control
):
    cart = cart_with(http, shop, stock_variant(http, shop, 5)["id"])
    emulator.fault("error_after_create")
    assert _buy(http, shop, cart, "lost-2").status_code == 503
    row = await _checkout_row(stack, shop, "lost-2")
    await _wait_sql(
        stack, "SELECT count(*) > 0 AS placed FROM orders WHERE checkout_id = $1", row["id"]
    )
    replay = _buy(http, shop, cart, "lost-2")
    assert replay.status_code == 200 and replay.json()["checkout_id"] == str(row["id"])
    assert len(_intent_keys(control, row["id"])) == 1


# --- money the checkout did not expect ------------------------------------------------------


async def test_an_unexpected_second_intent_is_refunded_and_the_order_stays_one(
    stack, http, shop, sdk
):
    paid = _buy(http, shop, cart_with(http, shop, stock_variant(http, shop, 2)["id"]), "extra")
    checkout_id = paid.json()["checkout_id"]
    account = await _account(stack, shop)
    extra = sdk.v1.payment_intents.create(
        params={
            "amount": 2500,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            "metadata": {"store_id": shop.id, "checkout_id": checkout_id, "attempt": "1"},
        },
        options={"stripe_account": account},
    )
    assert extra.status == "succeeded"

    def refunded() -> bool:
        charge = sdk.v1.charges.retrieve(extra.latest_charge, options={"stripe_account": account})
        return charge.amount_refunded == 2500

    wait(refunded, what="the unexpected payment refunded")
    assert await _orders_for(stack, uuid.UUID(checkout_id)) == 1


async def test_a_payment_for_a_checkout_that_no_longer_exists_is_refunded(stack, http, shop, sdk):
    """A checkout the reaper pruned (or one that never was) cannot get an order: a succeeded
    intent naming it is refunded in full, never kept."""
    account = await _account(stack, shop)
    gone = str(uuid.uuid4())
    orphan = sdk.v1.payment_intents.create(
        params={
            "amount": 1800,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            "metadata": {"store_id": shop.id, "checkout_id": gone, "attempt": "1"},
        },
        options={"stripe_account": account},
    )
    assert orphan.status == "succeeded"

    def refunded() -> bool:
        charge = sdk.v1.charges.retrieve(orphan.latest_charge, options={"stripe_account": account})
        return charge.amount_refunded == 1800

    wait(refunded, what="the payment for a missing checkout refunded")
    assert await _orders_for(stack, uuid.UUID(gone)) == 0


async def test_the_plan_fee_rides_on_the_direct_charge(stack, http, sdk):
    store = await merchant(stack, http, "fee")
    await admin_sql(stack, "UPDATE stores SET plan = 'basic' WHERE id = $1", int(store.id))
    paid = _buy(
        http,
        store,
        cart_with(http, store, stock_variant(http, store, 1, price=10000)["id"]),
        "fee-1",
    )
    assert paid.status_code == 200, paid.text
    intent = sdk.v1.payment_intents.retrieve(
        paid.json()["order"]["payment_intent_id"],
        options={"stripe_account": await _account(stack, store)},
    )
    assert intent.application_fee_amount == 200  # basic: 2%
    assert paid.json()["order"]["application_fee"]["amount_minor"] == "200"


# --- refused requests give the stock back at once ----------------------------------------


async def test_an_amount_below_stripes_minimum_is_refused_and_restocked(stack, http, shop):
    variant = stock_variant(http, shop, 4, price=10)  # 0.10 USD, below Stripe's 0.50
    r = _buy(http, shop, cart_with(http, shop, variant["id"]), "tiny-1")
    assert r.status_code == 400 and "smallest amount" in r.json()["message"]
    assert await stock(stack, variant["id"]) == 4


async def test_an_account_stripe_no_longer_knows_is_a_platform_fault_with_a_reference(stack, http):
    store = await merchant(stack, http, "revoked")
    variant = stock_variant(http, store, 4)
    real = await _account(stack, store)
    await admin_sql(
        stack,
        "UPDATE stores SET stripe_account_id = 'acct_revoked0000' WHERE id = $1",
        int(store.id),
    )
    try:
        r = _buy(http, store, cart_with(http, store, variant["id"]), "revoked-1")
        assert r.status_code == 503, r.text
        assert "nothing was charged" in r.json()["message"] and "reference" in r.json()["message"]
        assert await stock(stack, variant["id"]) == 4  # at once, not after a lease
    finally:
        await admin_sql(
            stack, "UPDATE stores SET stripe_account_id = $2 WHERE id = $1", int(store.id), real
        )


# --- events out of order, duplicated, or forged -------------------------------------------


async def test_a_failed_payment_event_after_success_and_duplicates_leave_one_paid_order(
    stack, http, shop, control
):
    paid = _buy(http, shop, cart_with(http, shop, stock_variant(http, shop, 2)["id"]), "dup-1")
    intent_id = paid.json()["order"]["payment_intent_id"]
    account = await _account(stack, shop)
    succeeded = next(
        e
        for e in control.events(type="payment_intent.succeeded", account=account)
        if e["data"]["object"]["id"] == intent_id
    )
    control.resend(succeeded["id"])
    control.resend(succeeded["id"])
    failed = {
        **succeeded,
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "type": "payment_intent.payment_failed",
    }
    payload = json.dumps(failed)
    header = control.sign(payload, stack.stripe_connect_webhook_secret)
    r = http.post(
        "/v1/stripe/connect-webhooks",
        headers={"host": PLATFORM_HOST, "stripe-signature": header},
        content=payload,
    )
    assert r.status_code == 200, r.text
    await asyncio.sleep(0.5)
    orders = await admin_sql(
        stack, "SELECT status FROM orders WHERE payment_intent_id = $1", intent_id
    )
    assert [o["status"] for o in orders] == ["paid"]


# --- the ways money could be kept without an order ----------------------------------------


@pytest.fixture
async def orders_refuse_an_email(stack):
    """Makes writing an order fail (a constraint violation) for one email address."""
    name = f"test_refuse_{uuid.uuid4().hex[:6]}"
    email = f"{name}@example.com"
    await admin_sql(
        stack,
        f"ALTER TABLE orders ADD CONSTRAINT {name} CHECK (email <> '{email}') NOT VALID",
    )

    async def lift() -> None:
        await admin_sql(stack, f"ALTER TABLE orders DROP CONSTRAINT IF EXISTS {name}")

    yield email, lift
    await lift()


async def test_an_order_that_cannot_be_written_is_refunded_in_full(
    stack, http, shop, sdk, orders_refuse_an_email
):
    email, _ = orders_refuse_an_email
    variant = stock_variant(http, shop, 3)
    cart = cart_with(http, shop, variant["id"], 2)
    first = _buy(http, shop, cart, "unwritable", email=email)
    assert first.status_code == 503 and "payment was received" in first.json()["message"]
    row = await _wait_sql(
        stack,
        "SELECT state = 'refunded' AS done, payment_intent_id, finalize_failures"
        " FROM checkouts WHERE store_id = $1 AND idempotency_key = $2",
        int(shop.id),
        "unwritable",
    )
    assert row["finalize_failures"] == 5
    final = _buy(http, shop, cart, "unwritable", email=email)
    assert final.status_code == 400 and "refunded in full" in final.json()["message"]
    intent = sdk.v1.payment_intents.retrieve(
        row["payment_intent_id"], options={"stripe_account": await _account(stack, shop)}
    )
    charge = sdk.v1.charges.retrieve(
        intent.latest_charge, options={"stripe_account": await _account(stack, shop)}
    )
    assert charge.amount_refunded == charge.amount == 5000
    assert await stock(stack, variant["id"]) == 3


async def test_a_3ds_payment_whose_order_fails_at_first_is_placed_once_it_can_be(
    stack, http, shop, emulator, orders_refuse_an_email
):
    email, lift = orders_refuse_an_email
    cart = cart_with(http, shop, stock_variant(http, shop, 2)["id"])
    waiting = _buy(
        http,
        shop,
        cart,
        "3ds-unwritable",
        email=email,
        payment_method="pm_card_threeDSecure2Required",
    )
    assert waiting.json()["status"] == "requires_action"
    row = await _checkout_row(stack, shop, "3ds-unwritable")
    emulator.authenticate(row["payment_intent_id"])  # its succeeded webhook cannot write yet
    await _wait_sql(
        stack,
        "SELECT finalize_failures > 0 AS failing FROM checkouts WHERE id = $1",
        row["id"],
    )
    await lift()
    await _wait_sql(
        stack, "SELECT count(*) = 1 AS placed FROM orders WHERE checkout_id = $1", row["id"]
    )
    retried = _until_paid(
        http,
        shop,
        cart,
        "3ds-unwritable",
        within=5,
        email=email,
        payment_method="pm_card_threeDSecure2Required",
    )
    assert retried.status_code == 200 and retried.json()["status"] == "paid"


async def test_3ds_declined_then_paid_with_another_card_places_the_order(
    stack, http, shop, emulator, sdk
):
    variant = stock_variant(http, shop, 2)
    cart = cart_with(http, shop, variant["id"])
    key = "3ds-again"
    waiting = _buy(http, shop, cart, key, payment_method="pm_card_threeDSecure2Required")
    assert waiting.json()["status"] == "requires_action"
    row = await _checkout_row(stack, shop, key)
    emulator.authenticate(row["payment_intent_id"], "fail")
    await _wait_sql(
        stack, "SELECT state = 'declined' AS declined FROM checkouts WHERE id = $1", row["id"]
    )
    assert await stock(stack, variant["id"]) == 2
    # The shopper pays the same intent with another card, on Stripe's side.
    sdk.v1.payment_intents.confirm(
        row["payment_intent_id"],
        params={"payment_method": "pm_card_visa"},
        options={"stripe_account": await _account(stack, shop)},
    )
    await _wait_sql(
        stack, "SELECT count(*) = 1 AS placed FROM orders WHERE checkout_id = $1", row["id"]
    )
    replay = _buy(http, shop, cart, key, payment_method="pm_card_threeDSecure2Required")
    assert replay.status_code == 200 and replay.json()["status"] == "paid"
    assert await stock(stack, variant["id"]) == 1


async def test_a_connection_lost_inside_the_order_transaction_is_unavailable_then_completes(
    stack, http, shop, control
):
    """PostgreSQL ends a connection while it is writing the order (whichever caller got there
    first: the shopper's request or Stripe's webhook): that caller is told to retry (503, never
    500), and the order is still placed exactly once."""
    variant = stock_variant(http, shop, 3)
    # An earlier order, so the store's order-number row exists to be held.
    assert _buy(http, shop, cart_with(http, shop, variant["id"]), "db-before").status_code == 200
    cart = cart_with(http, shop, variant["id"])
    blocker = await asyncpg.connect(with_database(stack.pg_admin_dsn, stack.database))
    try:
        # Hold the store's order-number row: the order transaction waits on it, mid-way.
        await blocker.execute("BEGIN")
        await blocker.execute(
            "SELECT 1 FROM store_order_counters WHERE store_id = $1 FOR UPDATE", int(shop.id)
        )
        async with httpx.AsyncClient(base_url=stack.edge_url, timeout=30) as client:
            pending = asyncio.ensure_future(
                client.post(
                    f"/v1/carts/{cart}/checkout",
                    headers={"host": shop.host, "idempotency-key": "db-lost"},
                    json=checkout_body(),
                )
            )
            waiting = await _wait_sql(
                stack,
                "SELECT pid FROM pg_stat_activity WHERE usename = 'shop_app'"
                " AND wait_event_type = 'Lock' AND datname = current_database()",
            )
            await blocker.execute("SELECT pg_terminate_backend($1)", waiting["pid"])
            await blocker.execute("ROLLBACK")
            first = await pending
    finally:
        await blocker.close()
    assert first.status_code in (200, 503), first.text
    paid = _until_paid(http, shop, cart, "db-lost")
    assert paid.status_code == 200, paid.text
    intent_id = paid.json()["order"]["payment_intent_id"]
    account = await _account(stack, shop)
    deliveries = [
        d.get("status")
        for e in control.events(type="payment_intent.succeeded", account=account)
        if e["data"]["object"]["id"] == intent_id
        for d in e["deliveries"]
    ]
    answers = [first.status_code, *deliveries]
    assert 503 in answers and 500 not in answers, answers
    checkout_id = paid.json()["checkout_id"]
    assert await _orders_for(stack, uuid.UUID(checkout_id)) == 1
    assert len(_intent_keys(control, checkout_id)) == 1


# --- the invariant, over every store's account ---------------------------------------------


async def test_every_succeeded_intent_has_exactly_one_order_or_a_full_refund(stack, sdk):
    """Runs after the payment tests of this session (and the checkout tests before them):
    within the documented deadline every succeeded PaymentIntent on any store's account has
    one order, or was refunded in full."""
    accounts = [
        r["stripe_account_id"]
        for r in await admin_sql(
            stack, "SELECT stripe_account_id FROM stores WHERE stripe_account_id IS NOT NULL"
        )
    ]
    deadline = time.monotonic() + 30
    while True:
        kept = []
        for account in accounts:
            options = {"stripe_account": account}
            for intent in sdk.v1.payment_intents.list(
                params={"limit": 100}, options=options
            ).auto_paging_iter():
                if intent.status != "succeeded":
                    continue
                charge = sdk.v1.charges.retrieve(intent.latest_charge, options=options)
                orders = (
                    await admin_sql(
                        stack,
                        "SELECT count(*) AS n FROM orders WHERE payment_intent_id = $1",
                        intent.id,
                    )
                )[0]["n"]
                fully_refunded = charge.amount_refunded == intent.amount
                if orders > 1 or (orders == 0 and not fully_refunded):
                    kept.append((account, intent.id, orders, charge.amount_refunded))
        if not kept or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    assert kept == []
