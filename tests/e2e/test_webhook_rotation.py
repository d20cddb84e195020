"""Webhook secret rotation and deletion through Envoy, with real deliveries to a loopback
receiver: during the overlap every delivery verifies with the old and the new secret, after it
only with the new; deleting a webhook cancels its pending deliveries visibly and sends nothing
more."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from services.common.db import create_pool, tenant_transaction
from services.events.signing import signatures, verify
from tests.e2e.api_client import admin, signup
from tests.integration.events_support import emit, low_stock


@pytest.fixture(scope="module")
def merchant(http):
    return signup(http, "rotate")


def produce_low_stock(app_dsn: str, store_id: int) -> None:
    async def produce() -> None:
        pool = await create_pool(app_dsn, 1)
        try:
            await emit(pool, store_id, low_stock(store_id))
        finally:
            await pool.close()

    asyncio.run(produce())


def end_overlap_now(app_dsn: str, store_id: int, webhook_id: str) -> None:
    """Moves the rotation's end into the past, as 24 hours passing would."""

    async def move() -> None:
        pool = await create_pool(app_dsn, 1)
        try:
            async with tenant_transaction(pool, store_id=store_id) as conn:
                await conn.execute(
                    "UPDATE webhooks SET previous_secret_expires_at = now() - interval '1 second'"
                    " WHERE store_id = $1 AND id = $2::uuid",
                    store_id,
                    webhook_id,
                )
        finally:
            await pool.close()

    asyncio.run(move())


def wait_for_requests(receiver, path: str, n: int, within: float = 20) -> list:
    deadline = time.monotonic() + within
    while len(receiver.requests_to(path)) < n:
        assert time.monotonic() < deadline, f"waited {within}s for {n} requests to {path}"
        time.sleep(0.05)
    return receiver.requests_to(path)


def subscribe(http, merchant, receiver, path: str) -> tuple[str, str]:
    r = http.post(
        "/v1/admin/webhooks",
        headers=admin(merchant),
        json={"topic": "inventory/low", "url": receiver.base_url + path},
    )
    assert r.status_code == 200, r.text
    return r.json()["webhook"]["id"], r.json()["secret"]


def verifies(request, secret: str) -> bool:
    return verify(
        secret,
        request.headers["x-shop-timestamp"],
        request.body,
        request.headers["x-shop-signature"],
    )


def test_rotation_signs_with_both_secrets_until_the_overlap_ends(
    http, stack, merchant, webhook_receiver
):
    path = f"/rotate-{merchant.id}"
    webhook_id, old = subscribe(http, merchant, webhook_receiver, path)
    webhook_receiver.secrets[path] = old

    r = http.post(f"/v1/admin/webhooks/{webhook_id}:rotateSecret", headers=admin(merchant), json={})
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert new != old and len(new) >= 32
    ends = datetime.fromisoformat(r.json()["webhook"]["previous_secret_expires_at"])
    assert timedelta(hours=23) < ends - datetime.now(UTC) <= timedelta(hours=24)
    [listed] = http.get("/v1/admin/webhooks", headers=admin(merchant)).json()["webhooks"]
    assert listed["previous_secret_expires_at"] == r.json()["webhook"]["previous_secret_expires_at"]

    # Inside the window: a receiver holding either secret accepts the delivery.
    produce_low_stock(stack.app_dsn, int(merchant.id))
    [during] = wait_for_requests(webhook_receiver, path, 1)
    assert len(signatures(during.headers["x-shop-signature"])) == 2
    assert verifies(during, old) and verifies(during, new)

    # After it: only the new secret signs.
    end_overlap_now(stack.app_dsn, int(merchant.id), webhook_id)
    webhook_receiver.secrets[path] = new
    produce_low_stock(stack.app_dsn, int(merchant.id))
    after = wait_for_requests(webhook_receiver, path, 2)[1]
    assert len(signatures(after.headers["x-shop-signature"])) == 1
    assert verifies(after, new) and not verifies(after, old)
    assert after.signature_valid
    [listed] = http.get("/v1/admin/webhooks", headers=admin(merchant)).json()["webhooks"]
    assert "previous_secret_expires_at" not in listed


def test_rotation_without_overlap_drops_the_old_secret_at_once(
    http, stack, merchant, webhook_receiver
):
    path = f"/rotate-now-{merchant.id}"
    webhook_id, old = subscribe(http, merchant, webhook_receiver, path)
    r = http.post(
        f"/v1/admin/webhooks/{webhook_id}:rotateSecret",
        headers=admin(merchant),
        json={"overlap_seconds": 0},
    )
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert "previous_secret_expires_at" not in r.json()["webhook"]
    webhook_receiver.secrets[path] = new
    produce_low_stock(stack.app_dsn, int(merchant.id))
    [request] = wait_for_requests(webhook_receiver, path, 1)
    assert verifies(request, new) and not verifies(request, old)


def test_rotation_refusals(http, merchant, store_b, webhook_receiver):
    webhook_id, _ = subscribe(http, merchant, webhook_receiver, f"/rotate-bad-{merchant.id}")
    r = http.post(
        f"/v1/admin/webhooks/{webhook_id}:rotateSecret",
        headers=admin(merchant),
        json={"overlap_seconds": 8 * 24 * 3600},
    )
    assert r.status_code == 400, r.text
    assert r.json()["details"][0]["field_violations"][0]["field"] == "overlap_seconds"
    # Another store's webhook is not found, and nothing was rotated.
    other = http.post(
        f"/v1/admin/webhooks/{webhook_id}:rotateSecret", headers=admin(store_b), json={}
    )
    assert other.status_code == 404, other.text


def test_delete_cancels_pending_deliveries_visibly_and_sends_nothing_more(
    http, stack, merchant, webhook_receiver
):
    path = f"/delete-{merchant.id}"
    webhook_id, secret = subscribe(http, merchant, webhook_receiver, path)
    webhook_receiver.secrets[path] = secret
    webhook_receiver.scripts[path] = [500] * 1000  # keeps the delivery pending, retrying
    produce_low_stock(stack.app_dsn, int(merchant.id))
    wait_for_requests(webhook_receiver, path, 1)

    r = http.delete(f"/v1/admin/webhooks/{webhook_id}", headers=admin(merchant))
    assert r.status_code == 200, r.text
    assert r.json()["cancelled_deliveries"] == 1
    sent = len(webhook_receiver.requests_to(path))

    listed = http.get("/v1/admin/webhooks", headers=admin(merchant)).json()["webhooks"]
    assert webhook_id not in [w["id"] for w in listed]
    [delivery] = http.get(
        f"/v1/admin/webhooks/{webhook_id}/deliveries", headers=admin(merchant)
    ).json()["deliveries"]
    assert delivery["status"] == "cancelled"
    redeliver = http.post(
        f"/v1/admin/webhook-deliveries/{delivery['id']}:redeliver", headers=admin(merchant), json={}
    )
    assert redeliver.status_code == 400, redeliver.text
    assert "deleted" in redeliver.json()["message"]
    assert (
        http.delete(f"/v1/admin/webhooks/{webhook_id}", headers=admin(merchant)).status_code == 404
    )

    # Retries came every ~0.2-0.4 s before; a few seconds later there is still none new (at
    # most the one that was already in flight when the delete committed).
    time.sleep(3)
    assert len(webhook_receiver.requests_to(path)) <= sent + 1
    # The same URL can be subscribed again; new events reach the new webhook only.
    again, _ = subscribe(http, merchant, webhook_receiver, path)
    assert again != webhook_id
    produce_low_stock(stack.app_dsn, int(merchant.id))
    deadline = time.monotonic() + 20
    while not [
        r for r in webhook_receiver.requests_to(path) if r.headers["x-shop-webhook-id"] == again
    ]:
        assert time.monotonic() < deadline, "the new subscription got nothing"
        time.sleep(0.05)
    deliveries = http.get(
        f"/v1/admin/webhooks/{webhook_id}/deliveries", headers=admin(merchant)
    ).json()["deliveries"]
    assert [d["status"] for d in deliveries] == ["cancelled"]
