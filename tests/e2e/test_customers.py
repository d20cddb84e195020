"""Customers and storefront accounts through Envoy, with real Redis, PostgreSQL, RabbitMQ, SMTP
and the Stripe emulator: stores never see each other's customers or sessions, accounts are
confirmed by email, sessions end at once, failures are indistinguishable and throttled, reset
tokens work once and expire, erasing leaves no trace of the person, totals stay exact."""

from __future__ import annotations

import asyncio
import json
import statistics
import time

import grpc
import pytest
import redis
from google.rpc import error_details_pb2, status_pb2
from shop.checkout.v1 import customers_pb2, customers_pb2_grpc

from services.checkout.customers.session_rules import email_token_key, token_hash
from tests.e2e.api_client import admin, grpc_channel
from tests.e2e.checkout_support import (
    ADDRESS,
    admin_sql,
    cart_with,
    merchant,
    stock_variant,
    wait,
)
from tests.e2e.customer_support import (
    PASSWORD,
    Shopper,
    customer,
    mails_to,
    place_order,
    register_and_activate,
    token_from_mail,
    unique_email,
)

# Long enough for a duplicate webhook to have arrived if one were coming.
SETTLE = 1.5


@pytest.fixture(scope="module")
async def shop(stack, http):
    return await merchant(stack, http, "cust")


@pytest.fixture(scope="module")
async def other_shop(stack, http):
    return await merchant(stack, http, "custb")


def _customers(http, store, **params) -> dict:
    r = http.get("/v1/admin/customers", headers=admin(store), params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def test_same_email_in_two_stores_is_two_customers_and_two_accounts(
    stack, http, shop, other_shop, smtp_server
):
    email = unique_email("twice")
    in_a = place_order(http, shop, email)["order"]
    in_b = place_order(http, other_shop, email.upper())["order"]
    assert in_a["customer_id"] and in_b["customer_id"]
    assert in_a["customer_id"] != in_b["customer_id"]

    [found_a] = _customers(http, shop, query=email)["customers"]
    [found_b] = _customers(http, other_shop, query=email)["customers"]
    assert found_a["id"] == in_a["customer_id"] and found_b["id"] == in_b["customer_id"]
    assert found_b["email"] == email.upper()  # as first given; matched case-insensitively
    # A's customer does not exist from B's host, by id or in the list.
    r = http.get(f"/v1/admin/customers/{found_a['id']}", headers=admin(other_shop))
    assert r.status_code == 404, r.text
    assert found_a["id"] not in {c["id"] for c in _customers(http, other_shop)["customers"]}
    r = http.patch(
        f"/v1/admin/customers/{found_a['id']}", headers=admin(other_shop), json={"note": "x"}
    )
    assert r.status_code == 404, r.text
    r = http.post(f"/v1/admin/customers/{found_a['id']}:erase", headers=admin(other_shop), json={})
    assert r.status_code == 404, r.text

    # Two accounts: each store confirms its own, and the sessions are bound to their store.
    a, b = Shopper(stack, shop), Shopper(stack, other_shop)
    me_a = register_and_activate(a, smtp_server, email)["me"]
    me_b = register_and_activate(b, smtp_server, email.upper())["me"]
    assert me_a["id"] == found_a["id"] and me_b["id"] == found_b["id"]
    r = b.get("/v1/account", session=a.session)
    assert r.status_code == 401, r.text
    r = b.get("/v1/account/orders", session=a.session)
    assert r.status_code == 401, r.text
    assert a.get("/v1/account").json()["id"] == found_a["id"]
    # The admin view says both have an account now.
    assert customer(http, shop, found_a["id"])["customer"]["has_account"] is True


async def test_register_sign_in_own_orders_then_sign_out_refuses_the_token_at_once(
    stack, http, shop, smtp_server
):
    mine, theirs = unique_email("mine"), unique_email("theirs")
    first = place_order(http, shop, mine, price=1500)["order"]
    place_order(http, shop, theirs, price=1700)
    shopper = Shopper(stack, shop)
    register_and_activate(shopper, smtp_server, mine, name="Ada", accepts_marketing=True)

    # Sign in again (a second device), and see only one's own orders.
    device = Shopper(stack, shop)
    r = device.sign_in(mine.upper())
    assert r.status_code == 200, r.text
    assert r.json()["session_token"].startswith("shpss_")
    me = device.get("/v1/account").json()
    assert me["email"] == mine and me["accepts_marketing"] is True
    assert me["default_address"]["line1"] == ADDRESS["line1"]  # from the first order

    # Signed in, the checkout takes the account's email and default address.
    second = place_order(
        http,
        shop,
        "",
        price=1900,
        headers={"x-shopper-session": device.session},
        body={"payment_method": "pm_card_visa"},
    )["order"]
    assert second["email"] == mine and second["customer_id"] == me["id"]
    assert second["shipping_address"]["city"] == ADDRESS["city"]
    # Another email than the account's is refused, not silently replaced.
    r = device.http.post(
        "/v1/carts/nope/checkout",
        headers=device.headers(**{"idempotency-key": f"k-{time.time_ns()}"}),
        json={"email": theirs, "payment_method": "pm_card_visa"},
    )
    assert r.status_code == 400 and "email" in r.text, r.text

    orders = device.get("/v1/account/orders", page_size=1).json()
    assert [o["id"] for o in orders["orders"]] == [second["id"]]
    assert "payment_intent_id" not in orders["orders"][0]  # the shopper's view of an order
    rest = device.get("/v1/account/orders", page_size=1, page_token=orders["next_page_token"])
    assert [o["id"] for o in rest.json()["orders"]] == [first["id"]]
    assert rest.json()["next_page_token"] == ""

    r = device.post("/v1/account:signOut", {})
    assert r.status_code == 200, r.text
    for path in ("/v1/account", "/v1/account/orders"):
        r = device.get(path)
        assert r.status_code == 401, r.text
    assert device.post("/v1/account:signOut", {}).status_code == 401
    # The first device's session is untouched.
    assert shopper.get("/v1/account").status_code == 200
    # Without a session, the account API says how to sign in.
    r = Shopper(stack, shop).get("/v1/account")
    assert r.status_code == 401 and "x-shopper-session" in r.json()["message"]

    # No process logged a session, an emailed token or the password.
    for path in stack.run_dir.glob("*.log"):
        text = path.read_text(errors="replace")
        for secret in ("shpss_", "shpet_", PASSWORD, device.session):
            assert secret not in text, (path.name, secret)


def _timed_sign_in(shopper: Shopper, email: str, password: str):
    started = time.perf_counter()
    r = shopper.post("/v1/account:signIn", {"email": email, "password": password})
    return r, time.perf_counter() - started


async def test_wrong_password_and_unknown_email_look_alike_and_the_11th_failure_is_throttled(
    stack, http, shop, smtp_server
):
    email = unique_email("known")
    register_and_activate(Shopper(stack, shop), smtp_server, email)
    nobody = unique_email("nobody")

    wrong, unknown = [], []
    for _ in range(4):  # interleaved, each from a client of its own
        r, took = _timed_sign_in(Shopper(stack, shop), email, "not-the-password-1")
        wrong.append((r.status_code, r.json(), took))
        r, took = _timed_sign_in(Shopper(stack, shop), nobody, "not-the-password-1")
        unknown.append((r.status_code, r.json(), took))
    assert {(s, json.dumps(b, sort_keys=True)) for s, b, _ in wrong + unknown} == {
        (401, json.dumps(wrong[0][1], sort_keys=True))
    }
    # Both cost one argon2 verification: the medians are alike, not ~40 ms apart.
    ratio = statistics.median(t for *_, t in unknown) / statistics.median(t for *_, t in wrong)
    assert 0.5 < ratio < 2.0, (wrong, unknown)

    # Per (store, email): six more failures from six more clients make ten...
    for _ in range(6):
        r, _ = _timed_sign_in(Shopper(stack, shop), email, "not-the-password-1")
        assert r.status_code == 401, r.text
    # ... and the 11th attempt is refused, from any client, even with the right password.
    r = Shopper(stack, shop).sign_in(email, PASSWORD)
    assert r.status_code == 429, r.text
    body = r.json()
    assert body["code"] == 8 and "retry in" in body["message"]
    [retry] = [d for d in body["details"] if d["@type"].endswith("RetryInfo")]
    assert 850 <= int(retry["retry_delay"].rstrip("s")) <= 900
    # The same email in another store is not throttled by this one.
    assert Shopper(stack, shop).sign_in(nobody).status_code == 401

    # Per client: ten failures with ten different emails, then the 11th is refused. The
    # client is the connection Envoy accepted: an x-forwarded-for it sends changes nothing.
    guesser = Shopper(stack, shop)

    def spray(i: int):
        return guesser.http.post(
            "/v1/account:signIn",
            headers={**guesser.headers(), "x-forwarded-for": f"203.0.113.{i}"},
            json={"email": unique_email("spray"), "password": "not-the-password-1"},
        )

    for i in range(10):
        r = spray(i)
        assert r.status_code == 401, r.text
    r = spray(10)
    assert r.status_code == 429, r.text


async def test_throttled_over_grpc_is_resource_exhausted_with_retry_info(stack, shop, smtp_server):
    email = unique_email("grpc")
    for _ in range(10):  # ten failures for the email, from clients of their own
        r, _ = _timed_sign_in(Shopper(stack, shop), email, "not-the-password-1")
        assert r.status_code == 401, r.text
    channel = grpc_channel(stack.ports.edge, shop.host)
    stub = customers_pb2_grpc.CustomerAccountsStub(channel)
    request = customers_pb2.SignInRequest(email=email, password="not-the-password-1")
    try:
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await stub.SignIn(request)
        last = failed.value
        assert last.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, last.details()
        raw = dict(last.trailing_metadata())["grpc-status-details-bin"]
        status = status_pb2.Status.FromString(raw)
        info = error_details_pb2.RetryInfo()
        assert status.details[0].Unpack(info) and info.retry_delay.seconds > 800
    finally:
        await channel.close()


async def test_reset_token_works_once_expires_and_password_changes_end_other_sessions(
    stack, http, shop, smtp_server, redis_url
):
    email = unique_email("reset")
    phone = Shopper(stack, shop)
    register_and_activate(phone, smtp_server, email)
    laptop = Shopper(stack, shop)
    assert laptop.sign_in(email).status_code == 200

    # Asking for a reset answers the same for an unknown email (and mails nobody).
    for who in (email, unique_email("ghost")):
        r = Shopper(stack, shop).post("/v1/account/password:requestReset", {"email": who})
        assert r.status_code == 200 and r.json() == {}, r.text
    token = token_from_mail(smtp_server, email, "reset your password")
    store_id = int(shop.id)
    with redis.Redis.from_url(redis_url) as raw:
        ttl = raw.ttl(email_token_key(store_id, "reset", token_hash(token)))
    assert 3500 < ttl <= 3600  # one hour

    new_password = "tangerine-harbor-77"
    r = Shopper(stack, shop).post(
        "/v1/account/password:reset", {"token": token, "new_password": new_password}
    )
    assert r.status_code == 200, r.text
    after_reset = r.json()["session_token"]
    # Every session from before the reset is over; the token does not work twice.
    assert phone.get("/v1/account").status_code == 401
    assert laptop.get("/v1/account").status_code == 401
    r = Shopper(stack, shop).post(
        "/v1/account/password:reset", {"token": token, "new_password": "another-one-88x"}
    )
    assert r.status_code == 400 and r.json()["details"][0]["field_violations"][0]["field"] == (
        "token"
    )
    assert Shopper(stack, shop).sign_in(email, PASSWORD).status_code == 401
    assert Shopper(stack, shop).get("/v1/account", session=after_reset).status_code == 200

    # A token past its hour is refused (its Redis key expires; here: made to expire now).
    Shopper(stack, shop).post("/v1/account/password:requestReset", {"email": email})
    expired = token_from_mail(smtp_server, email, "reset your password", nth=1)
    with redis.Redis.from_url(redis_url) as raw:
        assert raw.pexpire(email_token_key(store_id, "reset", token_hash(expired)), 1)
    await asyncio.sleep(0.05)
    r = Shopper(stack, shop).post(
        "/v1/account/password:reset", {"token": expired, "new_password": "another-one-88x"}
    )
    assert r.status_code == 400, r.text

    # Changing the password keeps the calling session and ends the others at once.
    one, two, three = (Shopper(stack, shop) for _ in range(3))
    for device in (one, two, three):
        assert device.sign_in(email, new_password).status_code == 200
    r = one.post(
        "/v1/account/password:change",
        {"current_password": "wrong-current-pw", "new_password": "saffron-kettle-42"},
    )
    assert r.status_code == 400 and "current_password" in r.text
    r = one.post(
        "/v1/account/password:change",
        {"current_password": new_password, "new_password": "saffron-kettle-42"},
    )
    assert r.status_code == 200 and r.json()["sessions_ended"] == 3, r.text  # + after_reset
    assert one.get("/v1/account").status_code == 200
    assert two.get("/v1/account").status_code == 401
    assert three.get("/v1/account").status_code == 401
    assert Shopper(stack, shop).sign_in(email, "saffron-kettle-42").status_code == 200


async def test_register_answers_alike_and_refuses_weak_passwords(stack, shop, smtp_server):
    email = unique_email("again")
    register_and_activate(Shopper(stack, shop), smtp_server, email)
    fresh = unique_email("fresh")
    answers = []
    for who in (email, fresh):
        r = Shopper(stack, shop).post(
            "/v1/account:register", {"email": who, "password": "violet-anchor-63"}
        )
        answers.append((r.status_code, r.text))
    assert answers[0] == answers[1] == (200, "{}")
    # The existing account is told (with a reset link), and its password is unchanged.
    token_from_mail(smtp_server, email, "you already have an account")
    assert Shopper(stack, shop).sign_in(email, "violet-anchor-63").status_code == 401
    assert Shopper(stack, shop).sign_in(email, PASSWORD).status_code == 200
    # A registration signs nobody in until its email is confirmed.
    assert Shopper(stack, shop).sign_in(fresh, "violet-anchor-63").status_code == 401

    for password, says in (("short", "at least 8"), ("password123", "most common")):
        r = Shopper(stack, shop).post(
            "/v1/account:register", {"email": unique_email(), "password": password}
        )
        assert r.status_code == 400, r.text
        violation = r.json()["details"][0]["field_violations"][0]
        assert violation["field"] == "password" and says in violation["description"]
    r = Shopper(stack, shop).post(
        "/v1/account:register", {"email": "a\u0000@example.com", "password": "violet-anchor-63"}
    )
    assert r.status_code == 400 and "NUL" in r.text


async def test_erase_leaves_no_trace_keeps_totals_and_sends_customers_redact_once(
    stack, http, shop, smtp_server, webhook_receiver
):
    paths = {}
    for topic in ("customers/redact", "customers/create", "orders/create"):
        paths[topic] = f"/erase-{shop.id}-{topic.replace('/', '-')}"
        r = http.post(
            "/v1/admin/webhooks",
            headers=admin(shop),
            json={"topic": topic, "url": webhook_receiver.base_url + paths[topic]},
        )
        assert r.status_code == 200, r.text
        webhook_receiver.secrets[paths[topic]] = r.json()["secret"]
    path = paths["customers/redact"]

    email = unique_email("forget")
    street = f"{time.time_ns()} Forgotten Lane"
    address = {**ADDRESS, "line1": street, "name": "Grace Forget"}
    body = {"email": email, "shipping_address": address, "payment_method": "pm_card_visa"}
    first = place_order(http, shop, email, price=3000, body=body)
    second = place_order(http, shop, email, price=2000, body=body)["order"]
    r = http.post(
        f"/v1/admin/orders/{second['id']}:refund", headers=admin(shop), json={"amount_minor": 500}
    )
    assert r.status_code == 200, r.text
    shopper = Shopper(stack, shop)
    register_and_activate(shopper, smtp_server, email)
    customer_id = first["order"]["customer_id"]
    # The merchant heard of the person (their systems will be asked to forget them too).
    # Everything already on its way about the person has arrived (an event still queued when
    # the erasure commits is delivered with what it carries; README, "Customers and accounts").
    for topic, count in (("customers/create", 1), ("orders/create", 2)):
        wait(
            lambda topic=topic, count=count: (
                sum(email.encode() in r.body for r in webhook_receiver.requests_to(paths[topic]))
                >= count
            ),
            what=topic,
        )
    for subject, count in (("confirmed", 2), ("refund", 1)):
        wait(
            lambda subject=subject, count=count: (
                len(mails_to(smtp_server, email, subject)) >= count
            ),
            what=subject,
        )
    before = customer(http, shop, customer_id)["customer"]
    assert before["orders_count"] == "2" and before["total_spent"]["amount_minor"] == "4500"

    r = http.post(f"/v1/admin/customers/{customer_id}:erase", headers=admin(shop), json={})
    assert r.status_code == 200, r.text
    erased = r.json()
    assert erased["email"] == "" and erased["name"] == "" and erased["erased_at"]
    assert "default_address" not in erased or not erased["default_address"]
    assert erased["has_account"] is False and erased["tags"] == []
    assert erased["orders_count"] == "2" and erased["total_spent"]["amount_minor"] == "4500"
    # The session ended with the account.
    assert shopper.get("/v1/account").status_code == 401
    for order in (first["order"], second):
        got = http.get(f"/v1/admin/orders/{order['id']}", headers=admin(shop)).json()
        assert got["email"] == "" and not any(got["shipping_address"].values())
        assert not any(got["billing_address"].values())
        assert got["total"] == order["total"]
    assert got["refunded"]["amount_minor"] == "500"
    # No row of this store holds the email, the name or the street any more.
    store = int(shop.id)
    for table in ("customers", "orders", "checkouts", "sent_emails", "webhook_deliveries"):
        rows = await admin_sql(
            stack,
            f"SELECT count(*) AS n FROM {table} t WHERE t.store_id = $1"
            " AND (lower(t::text) LIKE '%' || lower($2) || '%' OR t::text LIKE '%' || $3 || '%'"
            "      OR t::text LIKE '%Grace Forget%')",
            store,
            email,
            street,
        )
        assert rows[0]["n"] == 0, table
    [audit] = await admin_sql(
        stack,
        "SELECT action, subject, actor, details::text AS details FROM audit_events"
        " WHERE store_id = $1",
        store,
    )
    assert audit["action"] == "customer.erased" and audit["subject"] == f"customer:{customer_id}"
    assert email not in audit["details"]

    def redacts():
        return [
            json.loads(r.body)
            for r in webhook_receiver.requests_to(path)
            if r.signature_valid
            and r.headers["x-shop-topic"] == "customers/redact"
            and json.loads(r.body)["customer_id"] == customer_id
        ]

    [hook] = wait(redacts, what="customers/redact")
    assert hook["customer_id"] == customer_id
    assert set(hook["orders_to_redact"]) == {first["order"]["id"], second["id"]}
    # Erasing again changes nothing and announces nothing.
    r = http.post(f"/v1/admin/customers/{customer_id}:erase", headers=admin(shop), json={})
    assert r.status_code == 200 and r.json()["erased_at"] == erased["erased_at"]
    await asyncio.sleep(SETTLE)
    assert len(redacts()) == 1
    # A new order with the email makes a new customer.
    again = place_order(http, shop, email)["order"]
    assert again["customer_id"] and again["customer_id"] != customer_id


async def test_erased_checkout_replays_the_erased_order(stack, http, shop):
    email = unique_email("replay")
    key = f"replay-{time.time_ns()}"
    body = {"email": email, "shipping_address": ADDRESS, "payment_method": "pm_card_visa"}
    variant = stock_variant(http, shop, 5, price=1200)
    cart = cart_with(http, shop, variant["id"])
    headers = {"host": shop.host, "idempotency-key": key}
    first = http.post(f"/v1/carts/{cart}/checkout", headers=headers, json=body)
    assert first.status_code == 200, first.text
    customer_id = first.json()["order"]["customer_id"]
    r = http.post(f"/v1/admin/customers/{customer_id}:erase", headers=admin(shop), json={})
    assert r.status_code == 200, r.text
    replay = http.post(f"/v1/carts/{cart}/checkout", headers=headers, json=body)
    assert replay.status_code == 200, replay.text
    assert replay.json()["order"]["id"] == first.json()["order"]["id"]
    assert replay.json()["order"]["email"] == "" and email not in replay.text


async def test_orders_count_and_total_spent_follow_orders_refunds_and_cancellations(
    stack, http, shop
):
    email = unique_email("totals")
    orders = [place_order(http, shop, email, price=p)["order"] for p in (1000, 2500, 4000)]
    customer_id = orders[0]["customer_id"]
    assert {o["customer_id"] for o in orders} == {customer_id}

    def totals() -> tuple[str, str]:
        c = customer(http, shop, customer_id)["customer"]
        return c["orders_count"], c["total_spent"]["amount_minor"]

    assert totals() == ("3", "7500")
    r = http.post(
        f"/v1/admin/orders/{orders[1]['id']}:refund",
        headers=admin(shop),
        json={"amount_minor": 700},
    )
    assert r.status_code == 200, r.text
    assert totals() == ("3", "6800")
    r = http.post(f"/v1/admin/orders/{orders[2]['id']}:cancel", headers=admin(shop), json={})
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    assert totals() == ("2", "2800")
    # Cancelling the partly refunded order refunds the rest: nothing of it counts any more.
    r = http.post(f"/v1/admin/orders/{orders[1]['id']}:cancel", headers=admin(shop), json={})
    assert r.status_code == 200, r.text
    assert totals() == ("1", "1000")
    detail = customer(http, shop, customer_id)
    assert [o["id"] for o in detail["recent_orders"]] == [o["id"] for o in reversed(orders)]

    # The list sorted by total spent, paged, the token bound to its query and sort.
    big = unique_email("whale")
    place_order(http, shop, big, price=9000)
    first = _customers(http, shop, sort="CUSTOMER_SORT_TOTAL_SPENT", page_size=1)
    assert (
        first["customers"][0]["email"] == big
        or int(first["customers"][0]["total_spent"]["amount_minor"]) >= 9000
    )
    token = first["next_page_token"]
    assert token
    r = http.get(
        "/v1/admin/customers",
        headers=admin(shop),
        params={"sort": "CUSTOMER_SORT_NEWEST", "page_size": 1, "page_token": token},
    )
    assert r.status_code == 400 and "page_token" in r.text, r.text
    spent = []
    params = {"sort": "CUSTOMER_SORT_TOTAL_SPENT", "page_size": 2}
    while True:
        page = _customers(http, shop, **params)
        spent += [int(c["total_spent"]["amount_minor"]) for c in page["customers"]]
        if not page["next_page_token"]:
            break
        params["page_token"] = page["next_page_token"]
    assert spent == sorted(spent, reverse=True) and len(spent) >= 2


async def test_update_note_tags_and_consent_with_bounds_and_scopes(stack, http, shop):
    email = unique_email("notes")
    customer_id = place_order(http, shop, email)["order"]["customer_id"]
    url = f"/v1/admin/customers/{customer_id}"
    r = http.patch(
        url,
        headers=admin(shop),
        json={
            "note": "prefers mornings",
            "tags": {"tags": ["VIP", " vip ", "wholesale"]},
            "marketing_consent": {"state": "subscribed"},
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["note"] == "prefers mornings" and body["tags"] == ["VIP", "wholesale"]
    consent = body["marketing_consent"]
    assert consent["state"] == "subscribed" and consent["source"] == "admin"
    assert consent["updated_at"]
    # Only the note changes; the tags stay.
    r = http.patch(url, headers=admin(shop), json={"note": ""})
    assert (
        r.status_code == 200
        and r.json()["note"] == ""
        and r.json()["tags"]
        == [
            "VIP",
            "wholesale",
        ]
    )
    for bad, field in (
        ({"note": "x" * 5001}, "note"),
        ({"note": "a\u0000b"}, "note"),
        ({"tags": {"tags": ["x" * 41]}}, "tags[0]"),
        ({"tags": {"tags": [f"t{i}" for i in range(51)]}}, "tags"),
        ({"tags": {"tags": ["a,b"]}}, "tags[0]"),
        ({"marketing_consent": {"state": "maybe"}}, "marketing_consent.state"),
        ({}, "update"),
    ):
        r = http.patch(url, headers=admin(shop), json=bad)
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["details"][0]["field_violations"][0]["field"] == field, r.text
    r = http.get("/v1/admin/customers/not-a-uuid", headers=admin(shop))
    assert r.status_code == 400 and "id" in r.text
    r = http.get("/v1/admin/customers", headers=admin(shop), params={"query": "x" * 255})
    assert r.status_code == 400 and "query" in r.text

    # Scopes: read_customers reads, only write_customers writes.
    r = http.post(
        "/v1/admin/access_tokens",
        headers=admin(shop),
        json={"name": "crm", "scopes": ["read_customers"]},
    )
    assert r.status_code == 200, r.text
    reader = {"host": shop.host, "authorization": f"Bearer {r.json()['token']}"}
    assert http.get(url, headers=reader).status_code == 200
    r = http.patch(url, headers=reader, json={"note": "no"})
    assert r.status_code == 403 and "write_customers" in r.text
    r = http.post(f"{url}:erase", headers=reader, json={})
    assert r.status_code == 403
    # A shopper's session is no admin token.
    r = http.get(url, headers={"host": shop.host, "x-shopper-session": "shpss_x" * 3})
    assert r.status_code == 401
