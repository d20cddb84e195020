"""Webhook admin API through Envoy: secret shown once, SSRF refusals named, deliveries and
their attempt log readable, redelivery, and another store's ids are not found."""

from __future__ import annotations

import asyncio
import time

import pytest

from services.common.db import create_pool
from tests.e2e.api_client import admin, signup
from tests.integration.events_support import emit, low_stock


@pytest.fixture(scope="module")
def merchant(http):
    return signup(http, "hooks")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://10.0.0.1/hook", "private"),
        ("https://169.254.169.254/latest", "link-local"),
        ("https://[::1]/hook", "loopback"),
        ("https://[::ffff:127.0.0.1]/hook", "IPv4-mapped"),
        ("https://2130706433/hook", "loopback"),
        ("https://localhost/hook", "loopback"),
    ],
)
def test_ssrf_targets_are_invalid_argument(http, merchant, url, reason):
    r = http.post(
        "/v1/admin/webhooks", headers=admin(merchant), json={"topic": "orders/create", "url": url}
    )
    assert r.status_code == 400, r.text
    assert r.json()["details"][0]["field_violations"][0]["field"] == "url"
    assert reason in r.json()["message"]


def test_unknown_topic_is_invalid_argument(http, merchant):
    r = http.post(
        "/v1/admin/webhooks",
        headers=admin(merchant),
        json={"topic": "orders/explode", "url": "https://93.184.215.14/x"},
    )
    assert r.status_code == 400 and "topic" in r.json()["message"]


def _produce_low_stock_event(app_dsn: str, store_id: int) -> None:
    """A low-stock event committed through the outbox, as the catalog's inventory paths do."""

    async def produce() -> None:
        pool = await create_pool(app_dsn, 1)
        try:
            await emit(pool, store_id, low_stock(store_id))
        finally:
            await pool.close()

    asyncio.run(produce())


def test_lifecycle_with_deliveries_and_redelivery(http, stack, merchant, webhook_receiver, store_b):
    path = f"/api-{merchant.id}"
    r = http.post(
        "/v1/admin/webhooks",
        headers=admin(merchant),
        json={"topic": "inventory/low", "url": webhook_receiver.base_url + path},
    )
    assert r.status_code == 200, r.text
    created = r.json()
    webhook_id, secret = created["webhook"]["id"], created["secret"]
    assert len(secret) >= 32
    webhook_receiver.secrets[path] = secret

    listed = http.get("/v1/admin/webhooks", headers=admin(merchant)).json()["webhooks"]
    assert [w["id"] for w in listed] == [webhook_id]
    assert "secret" not in listed[0]

    # Another store can neither see nor touch it.
    assert (
        http.get(f"/v1/admin/webhooks/{webhook_id}/deliveries", headers=admin(store_b)).status_code
        == 404
    )
    assert (
        http.delete(f"/v1/admin/webhooks/{webhook_id}", headers=admin(store_b)).status_code == 404
    )

    _produce_low_stock_event(stack.app_dsn, int(merchant.id))
    deadline = time.monotonic() + 20
    while True:
        deliveries = http.get(
            f"/v1/admin/webhooks/{webhook_id}/deliveries", headers=admin(merchant)
        ).json()["deliveries"]
        if deliveries and deliveries[0]["status"] == "delivered":
            break
        assert time.monotonic() < deadline, deliveries
        time.sleep(0.1)
    [delivery] = deliveries
    assert delivery["attempts"] == 1
    assert delivery["attempt_log"][0]["response_code"] == 200

    r = http.post(
        f"/v1/admin/webhook-deliveries/{delivery['id']}:redeliver", headers=admin(merchant), json={}
    )
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 20
    while len(webhook_receiver.requests_to(path)) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    first, second = webhook_receiver.requests_to(path)[:2]
    assert first.headers["x-shop-event-id"] == second.headers["x-shop-event-id"]
    assert second.signature_valid

    assert (
        http.delete(f"/v1/admin/webhooks/{webhook_id}", headers=admin(merchant)).status_code == 200
    )
    assert http.get("/v1/admin/webhooks", headers=admin(merchant)).json()["webhooks"] == []
