"""Helpers for shipping and tax tests: a zone with a rate, tax rates and settings, through the
admin API on the store's host."""

from __future__ import annotations

import httpx

from tests.e2e.api_client import StoreHandle, admin
from tests.e2e.checkout_support import ADDRESS

NY = {**ADDRESS, "city": "New York", "region": "NY", "postal_code": "10001"}


def zone(http: httpx.Client, store: StoreHandle, areas: list[str], name: str = "Home") -> dict:
    r = http.post(
        "/v1/admin/shipping_zones", headers=admin(store), json={"name": name, "areas": areas}
    )
    assert r.status_code == 200, r.text
    return r.json()


def rate(http: httpx.Client, store: StoreHandle, zone_id: str, **body) -> dict:
    body = {"name": "Standard", "kind": "flat", **body}
    r = http.post(f"/v1/admin/shipping_zones/{zone_id}/rates", headers=admin(store), json=body)
    assert r.status_code == 200, r.text
    return r.json()


def tax_rate(
    http: httpx.Client, store: StoreHandle, country: str, millipercent: int, region: str = ""
) -> dict:
    r = http.post(
        "/v1/admin/tax_rates",
        headers=admin(store),
        json={"country": country, "region": region, "rate_millipercent": millipercent},
    )
    assert r.status_code == 200, r.text
    return r.json()


def tax_settings(
    http: httpx.Client, store: StoreHandle, *, inclusive: bool, tax_shipping: bool
) -> None:
    r = http.put(
        "/v1/admin/tax_settings",
        headers=admin(store),
        json={"prices_include_tax": inclusive, "tax_shipping": tax_shipping},
    )
    assert r.status_code == 200, r.text


def shipping_options(http: httpx.Client, store: StoreHandle, cart: str, address: dict):
    return http.post(
        f"/v1/carts/{cart}/shipping_rates", headers={"host": store.host}, json={"address": address}
    )


def amount(money: dict | None) -> int:
    return int((money or {}).get("amount_minor", 0))
