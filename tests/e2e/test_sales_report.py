"""The sales report through Envoy equals a direct SQL aggregation over the same orders, after
the analytics consumer got every order event out of order and more than once, with a partial
refund and a cancellation in the period, in a time zone half an hour off the hour.

The orders are real (cart, checkout, Stripe emulator); while the relay is stopped, the test
moves them back over several days (orders.created_at and the event's created_at, the refund's
recording time and its event's timestamp: history as a merchant would have it), then publishes
every outbox row itself twice in reverse order before restarting the relay, which publishes
them all once more."""

from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta

import aio_pika
import pytest

from tests.e2e.api_client import admin
from tests.e2e.checkout_support import admin_sql, cart_with, checkout_body, merchant, stock_variant

ZONE = "America/St_Johns"  # UTC-3:30 (UTC-2:30 in summer)


def _order(http, store, variant_id: str, quantity: int, key: str) -> dict:
    cart = cart_with(http, store, variant_id, quantity)
    r = http.post(
        f"/v1/carts/{cart}/checkout",
        headers={"host": store.host, "idempotency-key": key},
        json=checkout_body(),
    )
    assert r.status_code == 200, r.text
    return r.json()["order"]


async def _republish(stack, store_id: int) -> None:
    rows = await admin_sql(
        stack,
        """SELECT exchange, routing_key, idempotency_key, event_type, payload::text AS body
           FROM outbox WHERE store_id = $1 AND published_at IS NULL AND exchange = 'orders.events'
           ORDER BY id DESC""",
        store_id,
    )
    assert rows
    connection = await aio_pika.connect(stack.amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("orders.events")
        for _ in range(2):
            for row in rows:
                await exchange.publish(
                    aio_pika.Message(
                        body=row["body"].encode(),
                        content_type="application/json",
                        message_id=row["idempotency_key"],
                        type=row["event_type"],
                        headers={"store_id": str(store_id)},
                    ),
                    routing_key=row["routing_key"],
                )
    finally:
        await connection.close()


async def _shift(stack, store_id: int, order_id: str, placed_hours: float, refund_hours: float):
    """Moves an order's creation (and refund, if any) back in time, with its events."""
    await admin_sql(
        stack,
        """UPDATE orders SET created_at = created_at - make_interval(secs => $3),
                             updated_at = updated_at - make_interval(secs => $4)
           WHERE store_id = $1 AND id = $2::uuid""",
        store_id,
        order_id,
        placed_hours * 3600,
        refund_hours * 3600,
    )
    await admin_sql(
        stack,
        """UPDATE outbox SET payload = jsonb_set(payload, '{data,created_at}',
               to_jsonb(o.created_at))
           FROM orders o
           WHERE outbox.store_id = $1 AND o.store_id = $1 AND o.id = $2::uuid
             AND outbox.payload->'data'->>'order_id' = $2::text
             AND outbox.event_type = 'order.created'""",
        store_id,
        order_id,
    )
    await admin_sql(
        stack,
        """UPDATE outbox SET payload = jsonb_set(payload, '{timestamp}', to_jsonb(o.updated_at))
           FROM orders o
           WHERE outbox.store_id = $1 AND o.store_id = $1 AND o.id = $2::uuid
             AND outbox.payload->'data'->>'order_id' = $2::text
             AND outbox.event_type IN ('order.refunded', 'order.cancelled')""",
        store_id,
        order_id,
    )


EXPECTED_SQL = """
WITH placed AS (
    SELECT (o.created_at AT TIME ZONE $2)::date AS day, count(*) AS orders,
           sum(o.total) AS gross,
           sum((SELECT sum(i.quantity) FROM order_items i
                WHERE i.store_id = o.store_id AND i.order_id = o.id)) AS units
    FROM orders o WHERE o.store_id = $1 GROUP BY 1
), refunded AS (
    SELECT (o.updated_at AT TIME ZONE $2)::date AS day, sum(o.refunded) AS refunds
    FROM orders o WHERE o.store_id = $1 AND o.refunded > 0 GROUP BY 1
)
SELECT coalesce(p.day, r.day) AS day, coalesce(p.orders, 0) AS orders,
       coalesce(p.gross, 0) AS gross, coalesce(r.refunds, 0) AS refunds,
       coalesce(p.units, 0) AS units
FROM placed p FULL JOIN refunded r ON r.day = p.day
"""


@pytest.mark.timeout(180)
async def test_report_equals_sql_over_the_orders_after_redelivered_out_of_order_events(stack, http):
    store = await merchant(stack, http, "sales")
    store_id = int(store.id)
    mug = stock_variant(http, store, 50, price=1250)
    lamp = stock_variant(http, store, 50, price=4999)
    stack.stop("relay")
    try:
        orders = [
            _order(http, store, mug["id"], 2, "s-1"),
            _order(http, store, lamp["id"], 1, "s-2"),
            _order(http, store, mug["id"], 3, "s-3"),
            _order(http, store, lamp["id"], 2, "s-4"),
        ]
        r = http.post(
            f"/v1/admin/orders/{orders[1]['id']}:refund",
            headers=admin(store),
            json={"amount_minor": 1999},
        )
        assert r.status_code == 200, r.text
        r = http.post(f"/v1/admin/orders/{orders[2]['id']}:cancel", headers=admin(store), json={})
        assert r.status_code == 200, r.text
        # Placed over four local days; the refund and the cancellation a day or so later.
        for order, placed, refunded in zip(
            orders, (76.0, 51.5, 27.25, 2.0), (0.0, 30.0, 3.0, 0.0), strict=True
        ):
            await _shift(stack, store_id, order["id"], placed, refunded)
        await _republish(stack, store_id)
    finally:
        await asyncio.to_thread(stack.start_service, "relay", "services.events.relay")

    expected_rows = await admin_sql(stack, EXPECTED_SQL, store_id, ZONE)
    expected = {r["day"].isoformat(): r for r in expected_rows}
    first = min(r["day"] for r in expected_rows) - timedelta(days=1)
    last = max(r["day"] for r in expected_rows) + timedelta(days=1)
    params = {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "granularity": "REPORT_GRANULARITY_DAY",
        "time_zone": ZONE,
    }

    def totals_match(report: dict) -> bool:
        t = report["totals"]
        return int(t.get("orders", 0)) == 4 and int(t["refunds"]["amount_minor"]) == sum(
            r["refunds"] for r in expected_rows
        )

    deadline = time.monotonic() + 30
    while True:
        r = http.get("/v1/admin/reports/sales", headers=admin(store), params=params)
        assert r.status_code == 200, r.text
        report = r.json()
        if totals_match(report):
            break
        assert time.monotonic() < deadline, report
        await asyncio.sleep(0.2)
    await asyncio.sleep(1)  # the duplicates have had time to arrive: nothing may change
    again = http.get("/v1/admin/reports/sales", headers=admin(store), params=params).json()
    assert again == report

    days = (last - first).days + 1
    assert [b["start"] for b in report["buckets"]] == [
        (first + timedelta(days=i)).isoformat() for i in range(days)
    ]
    assert len([b for b in report["buckets"] if int(b["figures"].get("orders", 0))]) >= 3
    for bucket in report["buckets"]:
        want = expected.get(bucket["start"])
        f = bucket["figures"]
        got = (
            int(f.get("orders", 0)),
            int(f["gross_sales"].get("amount_minor", 0)),
            int(f["refunds"].get("amount_minor", 0)),
            int(f.get("units", 0)),
        )
        assert got == (
            (want["orders"], want["gross"], want["refunds"], want["units"])
            if want
            else (0, 0, 0, 0)
        ), bucket
        assert int(f["net_sales"].get("amount_minor", 0)) == got[1] - got[2]
    gross = sum(r["gross"] for r in expected_rows)
    refunds = sum(r["refunds"] for r in expected_rows)
    t = report["totals"]
    assert int(t["gross_sales"]["amount_minor"]) == gross == 2 * 1250 + 4999 + 3 * 1250 + 2 * 4999
    assert int(t["net_sales"]["amount_minor"]) == gross - refunds
    assert refunds == 1999 + 3 * 1250
    assert int(t["average_order_value"]["amount_minor"]) == (2 * gross + 4) // 8
    top = [(p["title"], int(p["units"])) for p in report["top_products"]]
    assert top == [(_title(http, store, lamp), 3), (_title(http, store, mug), 5)]

    # Weeks and months are sums of the same quarter hours.
    for granularity in ("REPORT_GRANULARITY_WEEK", "REPORT_GRANULARITY_MONTH"):
        coarse = http.get(
            "/v1/admin/reports/sales",
            headers=admin(store),
            params={**params, "granularity": granularity},
        ).json()
        assert coarse["totals"] == report["totals"]
        assert coarse["buckets"][0]["start"] == first.isoformat()


def _title(http, store, variant) -> str:
    r = http.get("/v1/admin/variants:bySku", headers=admin(store), params={"sku": variant["sku"]})
    product = http.get(f"/v1/admin/products/{r.json()['product_id']}", headers=admin(store))
    return product.json()["title"]


def test_bad_report_requests_name_the_field(http, store_a):
    cases = [
        ({"from": "2026-13-01", "to": "2026-01-02"}, "from"),
        ({"from": "2026-01-02", "to": "2026-01-01"}, "to"),
        ({"from": "2025-01-01", "to": "2026-06-01"}, "to"),
        ({"from": "2026-01-01", "to": "2026-01-02", "time_zone": "Mars/Olympus"}, "time_zone"),
        ({"from": "2026-01-01", "to": "2026-01-02", "time_zone": "UTC+3"}, "time_zone"),
        ({"from": "2026-01-01", "to": "2026-01-02", "top_products": 51}, "top_products"),
    ]
    for params, field in cases:
        r = http.get("/v1/admin/reports/sales", headers=admin(store_a), params=params)
        assert r.status_code == 400, (params, r.text)
        assert r.json()["details"][0]["field_violations"][0]["field"] == field


def test_reports_need_the_read_reports_scope(http, store_a):
    r = http.post(
        "/v1/admin/access_tokens",
        headers=admin(store_a),
        json={"name": "no reports", "scopes": ["read_orders"]},
    )
    token = r.json()["token"]
    r = http.get(
        "/v1/admin/reports/sales",
        headers={"host": store_a.host, "authorization": f"Bearer {token}"},
        params={"from": date.today().isoformat(), "to": date.today().isoformat()},
    )
    assert r.status_code == 403, r.text


async def test_list_orders_tokens_are_bound_to_their_filters(stack, http):
    store = await merchant(stack, http, "orderpages")
    variant = stock_variant(http, store, 10)
    placed = {_order(http, store, variant["id"], 1, f"op-{i}")["id"] for i in range(3)}
    seen, token = [], ""
    while True:
        r = http.get(
            "/v1/admin/orders", headers=admin(store), params={"page_size": 1, "page_token": token}
        )
        assert r.status_code == 200, r.text
        seen += [o["id"] for o in r.json()["orders"]]
        token = r.json().get("next_page_token", "")
        if not token:
            break
        reused = http.get(
            "/v1/admin/orders",
            headers=admin(store),
            params={"page_size": 1, "page_token": token, "status": "paid"},
        )
        assert reused.status_code == 400, reused.text
        assert reused.json()["details"][0]["field_violations"][0]["field"] == "page_token"
    assert len(seen) == len(set(seen)) == 3 and set(seen) == placed
