"""Helpers for the customer and account tests: shoppers calling from addresses of their own
(so the per-client throttle of one test never meets another's), orders, and the emails the
account flows send."""

from __future__ import annotations

import itertools
import random
import re
import time
import uuid
from collections.abc import Iterator

import httpx

from tests.e2e.api_client import StoreHandle, admin
from tests.e2e.checkout_support import ADDRESS, cart_with, stock_variant, wait

TOKEN = re.compile(r"shpet_[A-Za-z0-9_-]+")
PASSWORD = "plum-otter-91-lantern"
# Throttles live in Redis for 15 minutes and the test Redis outlives a run (and may serve
# another worktree's run): each run starts at a random place in 127.1.0.0 - 127.250.255.255.
_ADDRESSES: Iterator[int] = itertools.count(random.randrange(250 * 250 * 200))


def client_address() -> str:
    """A loopback address no other test uses (127.0.0.0/8 is all loopback on Linux)."""
    n = next(_ADDRESSES) % (250 * 250 * 250)
    return f"127.{n // 62500 + 1}.{n // 250 % 250 + 1}.{n % 250 + 2}"


class Shopper:
    """REST calls from one client address, with a session once signed in."""

    def __init__(self, stack, store: StoreHandle, address: str | None = None) -> None:
        self.address = address or client_address()
        self.store = store
        self.http = httpx.Client(
            base_url=stack.edge_url,
            timeout=20,
            transport=httpx.HTTPTransport(local_address=self.address),
        )
        self.session: str | None = None

    def headers(self, session: str | None = None, **extra: str) -> dict[str, str]:
        headers = {"host": self.store.host, **extra}
        token = session or self.session
        if token:
            headers["x-shopper-session"] = token
        return headers

    def post(self, path: str, body: dict, session: str | None = None) -> httpx.Response:
        return self.http.post(path, headers=self.headers(session), json=body)

    def get(self, path: str, session: str | None = None, **params) -> httpx.Response:
        return self.http.get(path, headers=self.headers(session), params=params)

    def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        r = self.post("/v1/account:signIn", {"email": email, "password": password})
        if r.status_code == 200:
            self.session = r.json()["session_token"]
        return r

    def close(self) -> None:
        self.http.close()


def unique_email(prefix: str = "shopper") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def mails_to(smtp_server, email: str, subject_has: str) -> list:
    return [
        m
        for m in smtp_server.inbox.snapshot()
        if str(m["To"]) == email and subject_has in str(m["Subject"])
    ]


def token_from_mail(smtp_server, email: str, subject_has: str, nth: int = 0) -> str:
    found = wait(
        lambda: len(mails_to(smtp_server, email, subject_has)) > nth,
        what=f"'{subject_has}' mail to {email}",
    )
    assert found
    message = mails_to(smtp_server, email, subject_has)[nth]
    body = message.get_body(preferencelist=("plain",)).get_content()
    return TOKEN.findall(body)[-1]


def register_and_activate(shopper: Shopper, smtp_server, email: str, **extra) -> dict:
    r = shopper.post("/v1/account:register", {"email": email, "password": PASSWORD, **extra})
    assert r.status_code == 200, r.text
    token = token_from_mail(smtp_server, email, "confirm your account")
    r = shopper.post("/v1/account:activate", {"token": token})
    assert r.status_code == 200, r.text
    shopper.session = r.json()["session_token"]
    return r.json()


def place_order(
    http: httpx.Client,
    store: StoreHandle,
    email: str,
    price: int = 2500,
    *,
    headers: dict[str, str] | None = None,
    body: dict | None = None,
) -> dict:
    variant = stock_variant(http, store, 10, price=price)
    cart = cart_with(http, store, variant["id"])
    r = http.post(
        f"/v1/carts/{cart}/checkout",
        headers={
            "host": store.host,
            "idempotency-key": f"cust-{time.time_ns()}",
            **(headers or {}),
        },
        json=body
        if body is not None
        else {"email": email, "shipping_address": ADDRESS, "payment_method": "pm_card_visa"},
    )
    assert r.status_code == 200, r.text
    return r.json()


def customer(http: httpx.Client, store: StoreHandle, customer_id: str) -> dict:
    r = http.get(f"/v1/admin/customers/{customer_id}", headers=admin(store))
    assert r.status_code == 200, r.text
    return r.json()
