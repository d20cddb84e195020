"""Talks to the platform through Envoy only, over REST (httpx) and gRPC, choosing the store by
Host / :authority exactly as shoppers and merchants do."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import grpc
import httpx

PLATFORM_HOST = "api.myshop.localhost"


@dataclass(frozen=True)
class StoreHandle:
    id: str
    subdomain: str
    host: str
    token: str


def unique_subdomain(prefix: str = "shop") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def signup(http: httpx.Client, prefix: str = "shop", currency: str = "USD") -> StoreHandle:
    subdomain = unique_subdomain(prefix)
    r = http.post(
        "/v1/stores",
        headers={"host": PLATFORM_HOST},
        json={
            "name": f"Store {subdomain}",
            "subdomain": subdomain,
            "owner_email": f"owner@{subdomain}.example.com",
            "currency": currency,
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    store = StoreHandle(
        id=body["store"]["id"],
        subdomain=subdomain,
        host=body["store"]["primary_domain"],
        token=body["admin_token"]["token"],
    )
    wait_routable(http, store.host)
    return store


def wait_routable(http: httpx.Client, host: str, timeout: float = 5.0) -> float:
    """Seconds until the edge routes `host` (the control plane pushes new stores to Envoy)."""
    started = time.monotonic()
    while True:
        r = http.get("/v1/products", headers={"host": host})
        if r.status_code != 404:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{host} not routable after {timeout}s")
        time.sleep(0.01)


def admin(store: StoreHandle) -> dict[str, str]:
    return {"host": store.host, "authorization": f"Bearer {store.token}"}


def product_body(
    title: str, *, skus: list[str], price: int = 1999, status: str = "ACTIVE", handle: str = ""
) -> dict:
    return {
        "title": title,
        "handle": handle,
        "status": f"PRODUCT_STATUS_{status}",
        "options": ["Size"],
        "variants": [
            {
                "sku": sku,
                "price": {"amount_minor": price},
                "inventory_quantity": 5,
                "option_values": [f"S{i}"],
            }
            for i, sku in enumerate(skus)
        ],
    }


def create_product(http: httpx.Client, store: StoreHandle, title: str, **kwargs) -> dict:
    r = http.post("/v1/admin/products", headers=admin(store), json=product_body(title, **kwargs))
    assert r.status_code == 200, r.text
    return r.json()


def grpc_channel(edge_port: int, host: str) -> grpc.aio.Channel:
    """A gRPC channel to Envoy whose :authority selects the store."""
    return grpc.aio.insecure_channel(
        f"127.0.0.1:{edge_port}", options=[("grpc.default_authority", host)]
    )
