"""Talks to the platform through Envoy only, over REST (httpx) and gRPC, choosing the store by
Host / :authority exactly as shoppers and merchants do."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import grpc
import httpx

from tests.support.polling import seconds_until

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
    return seconds_until(
        lambda: http.get("/v1/products", headers={"host": host}).status_code != 404,
        within=timeout,
        what=f"{host} to be routable",
    )


def admin(store: StoreHandle) -> dict[str, str]:
    return {"host": store.host, "authorization": f"Bearer {store.token}"}


def product_body(
    title: str,
    *,
    skus: list[str] | None = None,
    price: int = 1999,
    prices: list[int] | None = None,
    quantity: int = 5,
    policy: str = "",
    status: str = "ACTIVE",
    handle: str = "",
    description: str = "",
    tags: list[str] | None = None,
) -> dict:
    """The one product every test creates: a variant per SKU (or per price in `prices`, with
    SKUs made up), sized S0, S1, ..."""
    if skus is None:
        skus = [f"T-{uuid.uuid4().hex[:10]}" for _ in prices or [price]]
    amounts = prices or [price] * len(skus)
    variant_extra = {"inventory_policy": policy} if policy else {}
    return {
        "title": title,
        "handle": handle,
        "description": description,
        "status": f"PRODUCT_STATUS_{status}",
        "tags": tags or [],
        "options": ["Size"],
        "variants": [
            {
                "sku": sku,
                "price": {"amount_minor": amount},
                "inventory_quantity": quantity,
                "option_values": [f"S{i}"],
                **variant_extra,
            }
            for i, (sku, amount) in enumerate(zip(skus, amounts, strict=True))
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
