"""Seeds a demo store with products and Stripe onboarding through the public APIs (via Envoy),
as a merchant would."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from devstack.payments import onboard, restore_account

DEMO_SUBDOMAIN = "demo"
DEMO_PRODUCTS = [
    {
        "title": "Classic Tee",
        "handle": "classic-tee",
        "description": "Heavyweight cotton tee.",
        "status": "PRODUCT_STATUS_ACTIVE",
        "options": ["Size", "Color"],
        "variants": [
            {
                "sku": f"TEE-{size}-{color[:3].upper()}",
                "price": {"amount_minor": 2500},
                "inventory_quantity": 20,
                "option_values": [size, color],
            }
            for size in ("S", "M", "L")
            for color in ("Black", "White")
        ][:5],
    },
    {
        "title": "Enamel Mug",
        "handle": "enamel-mug",
        "status": "PRODUCT_STATUS_ACTIVE",
        "variants": [
            {
                "sku": "MUG-1",
                "price": {"amount_minor": 1400},
                "compare_at_price": {"amount_minor": 1800},
                "inventory_quantity": 3,
            }
        ],
    },
    {
        "title": "Gift Card",
        "handle": "gift-card",
        "status": "PRODUCT_STATUS_ACTIVE",
        "variants": [
            {
                "sku": "GIFT-50",
                "price": {"amount_minor": 5000},
                "inventory_policy": "INVENTORY_POLICY_CONTINUE",
            }
        ],
    },
]


@dataclass(frozen=True)
class Seeded:
    host: str
    store_id: str
    token: str | None  # None when the store already existed (its token was shown once)


def seed_demo(
    edge_url: str,
    platform_domain: str,
    emulator_url: str,
    existing_account: Callable[[], str | None],
) -> Seeded:
    """`existing_account` reads the demo store's Connect account when the store exists already
    (its token was shown once): the emulator, which keeps no state, gets it back."""
    host = f"{DEMO_SUBDOMAIN}.{platform_domain}"
    with httpx.Client(base_url=edge_url, timeout=10) as http:
        r = http.post(
            "/v1/stores",
            headers={"host": f"api.{platform_domain}"},
            json={
                "name": "Demo Store",
                "subdomain": DEMO_SUBDOMAIN,
                "owner_email": "owner@demo.example",
                "currency": "USD",
            },
        )
        if r.status_code == 409:
            account = existing_account()
            if account:
                restore_account(emulator_url, account)
            return Seeded(host, "<id>", None)
        r.raise_for_status()
        token = r.json()["admin_token"]["token"]
        store_id = r.json()["store"]["id"]
        deadline = time.monotonic() + 5
        while http.get("/v1/products", headers={"host": host}).status_code == 404:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{host} did not become routable")
            time.sleep(0.05)
        for product in DEMO_PRODUCTS:
            http.post(
                "/v1/admin/products",
                headers={"host": host, "authorization": f"Bearer {token}"},
                json=product,
            ).raise_for_status()
        onboard(http, host, token, emulator_url)
    return Seeded(host, store_id, token)
