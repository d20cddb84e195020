"""The merchant's own changes to the store, through Envoy: a new owner email takes effect only
with the code mailed to the new address (the old address is told); the currency changes only
while the store has no orders (FAILED_PRECONDITION naming why otherwise)."""

from __future__ import annotations

import re
import time

import pytest

from tests.e2e.api_client import admin, create_product, signup
from tests.e2e.checkout_support import admin_sql, cart_with, checkout_body, merchant, stock_variant


def mail_to(smtp_server, address: str, within: float = 20.0):
    deadline = time.monotonic() + within
    while True:
        found = [m for m in smtp_server.inbox.messages if m["To"] == address]
        if found:
            return found
        assert time.monotonic() < deadline, f"no email to {address}"
        time.sleep(0.1)


def field(response) -> str:
    return response.json()["details"][0]["field_violations"][0]["field"]


@pytest.fixture
def shop(http):
    return signup(http, "owner")


def test_owner_email_changes_only_with_the_mailed_code(http, shop, store_b, smtp_server):
    old = f"owner@{shop.subdomain}.example.com"
    new = f"new-owner@{shop.subdomain}.example.org"
    r = http.post("/v1/admin/store/owner_email", headers=admin(shop), json={"new_email": new})
    assert r.status_code == 200, r.text
    assert r.json()["pending_email"] == new and r.json()["expires_at"]
    store = http.get("/v1/admin/store", headers=admin(shop)).json()
    assert (store["owner_email"], store["pending_owner_email"]) == (old, new)

    [mail] = mail_to(smtp_server, new)
    text = mail.get_body(("plain",)).get_content()
    found = re.search(r"^ {4}(\S+)\s*$", text, re.MULTILINE)
    assert found, text
    code = found.group(1)
    assert shop.subdomain in text

    wrong = http.post(
        "/v1/admin/store/owner_email:confirm", headers=admin(shop), json={"code": "nope"}
    )
    assert wrong.status_code == 400 and "does not match" in wrong.json()["message"]
    # Another store's token cannot use the code here.
    other = http.post(
        "/v1/admin/store/owner_email:confirm",
        headers={"host": shop.host, "authorization": f"Bearer {store_b.token}"},
        json={"code": code},
    )
    assert other.status_code == 403

    done = http.post(
        "/v1/admin/store/owner_email:confirm", headers=admin(shop), json={"code": code}
    )
    assert done.status_code == 200, done.text
    assert done.json()["owner_email"] == new
    assert done.json()["pending_owner_email"] == ""
    [notice] = mail_to(smtp_server, old)
    assert new in notice.get_body(("plain",)).get_content()
    again = http.post(
        "/v1/admin/store/owner_email:confirm", headers=admin(shop), json={"code": code}
    )
    assert again.status_code == 400 and "nothing is waiting" in again.json()["message"]


def test_owner_email_input_is_checked(http, shop):
    for email in ("not-an-email", "a" * 250 + "@x.io", f"owner@{shop.subdomain}.example.com"):
        r = http.post("/v1/admin/store/owner_email", headers=admin(shop), json={"new_email": email})
        assert r.status_code == 400, (email, r.text)
        assert field(r) == "new_email"


async def test_currency_changes_only_before_the_first_order(stack, http, shop):
    create_product(http, shop, "Priced", skus=[f"CUR-{shop.id}"], price=1200)
    r = http.post("/v1/admin/store/currency", headers=admin(shop), json={"currency": "eur"})
    assert r.status_code == 200, r.text
    assert r.json()["currency"] == "EUR"
    [product] = http.get("/v1/products", headers={"host": shop.host}).json()["products"]
    assert product["variants"][0]["price"] == {"amount_minor": "1200", "currency_code": "EUR"}
    bad = http.post("/v1/admin/store/currency", headers=admin(shop), json={"currency": "EURO"})
    assert bad.status_code == 400 and field(bad) == "currency"

    seller = await merchant(stack, http, "sold")
    variant = stock_variant(http, seller, 3)
    paid = http.post(
        f"/v1/carts/{cart_with(http, seller, variant['id'])}/checkout",
        headers={"host": seller.host, "idempotency-key": "first-order"},
        json=checkout_body(),
    )
    assert paid.status_code == 200, paid.text
    refused = http.post("/v1/admin/store/currency", headers=admin(seller), json={"currency": "GBP"})
    assert refused.status_code == 400, refused.text
    assert "no orders" in refused.json()["message"] and "has 1" in refused.json()["message"]
    assert http.get("/v1/admin/store", headers=admin(seller)).json()["currency"] == "USD"
    [row] = await admin_sql(
        stack, "SELECT currency FROM variants WHERE id = $1::uuid", variant["id"]
    )
    assert row["currency"] == "USD"
