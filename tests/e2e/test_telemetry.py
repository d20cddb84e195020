"""Tracing and logs end to end, on a stack of its own that exports to a test OTLP collector (the
main suite runs with telemetry off, as the benchmarks do)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest

from devstack.amqp import create_vhost, delete_vhost, ensure_rabbitmq, with_vhost
from devstack.migrate import drop_database
from devstack.payments import onboard
from devstack.stack import Stack
from tests.e2e.api_client import StoreHandle, admin, product_body, signup, wait_routable
from tests.otlp_receiver import OtlpReceiver, ReceivedSpan

SERVER, CLIENT = 2, 3  # OTLP span kinds
CARD = "4111 1111 1111 1111"  # a Luhn-valid test PAN


@pytest.fixture(scope="module")
def otlp():
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def traced_amqp_url():
    """A vhost of its own: the main stack's consumers must not take this stack's messages."""
    base = ensure_rabbitmq()
    vhost = f"shop_trace_{uuid.uuid4().hex[:8]}"
    if not create_vhost(vhost):
        pytest.fail("the traced stack needs its own RabbitMQ vhost (rabbitmqctl)")
    yield with_vhost(base, vhost)
    delete_vhost(vhost)


@pytest.fixture(scope="module")
def traced_stack(pg_admin_dsn, redis_url, traced_amqp_url, smtp_server, otlp, tmp_path_factory):
    database = f"shop_trace_{uuid.uuid4().hex[:8]}"
    stack = Stack(
        pg_admin_dsn=pg_admin_dsn,
        redis_url=redis_url,
        database=database,
        run_dir=tmp_path_factory.mktemp("traced"),
        envoy_concurrency=1,
        # Everything any library would log, so the secrets grep below has the most to look at.
        log_level="DEBUG",
        otlp_endpoint=otlp.endpoint,
        amqp_url=traced_amqp_url,
        smtp_port=smtp_server.port,
        extra_env={
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "LOG_REQUESTS": "true",
            # Every traced read must reach the service, not the edge cache.
            "STOREFRONT_CACHE_SECONDS": "0",
        },
    )
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        drop_database(pg_admin_dsn, database)


@pytest.fixture(scope="module")
def traced_http(traced_stack):
    with httpx.Client(base_url=traced_stack.edge_url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def shop(traced_stack, traced_http) -> StoreHandle:
    store = signup(traced_http, "traced")
    wait_routable(traced_http, store.host)
    onboard(traced_http, store.host, store.token, traced_stack.stripe_url)
    return store


def _traceparent() -> tuple[str, str]:
    trace_id = uuid.uuid4().hex
    return trace_id, f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"


def _in_trace(trace_id: str, spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    return [s for s in spans if s.trace_id == trace_id]


def _complete(trace_id: str, rpc: str):
    """Envoy's ingress span, the service's server span for `rpc` and its SQL have arrived."""

    def check(spans: list[ReceivedSpan]) -> bool:
        mine = _in_trace(trace_id, spans)
        return (
            any(s.service == "shop-edge" and s.kind == SERVER for s in mine)
            and any(s.name.endswith(rpc) and s.kind == SERVER for s in mine)
            and any(s.attr("db.statement") for s in mine)
        )

    return check


def test_rest_admin_call_is_one_trace_from_envoy_through_the_service_into_sql(
    traced_http, shop, otlp
):
    trace_id, traceparent = _traceparent()
    r = traced_http.post(
        "/v1/admin/products",
        headers={**admin(shop), "traceparent": traceparent},
        json=product_body("Traced Tee", skus=[f"TR-{uuid.uuid4().hex[:6]}"]),
    )
    assert r.status_code == 200, r.text

    spans = _in_trace(trace_id, otlp.wait_for(_complete(trace_id, "CatalogAdmin/CreateProduct")))
    by_id = {s.span_id: s for s in spans}
    ingress = next(s for s in spans if s.service == "shop-edge" and s.kind == SERVER)
    server = next(s for s in spans if s.name == "/shop.catalog.v1.CatalogAdmin/CreateProduct")
    sql = [s for s in spans if s.service == "shop-catalog" and s.attr("db.statement")]

    # Envoy continued the client's trace, and the service continued Envoy's.
    assert ingress.attr("grpc.path") == "/shop.catalog.v1.CatalogAdmin/CreateProduct"
    assert by_id[server.parent_span_id].service == "shop-edge"
    assert all(s.parent_span_id == server.span_id for s in sql)
    assert any("INSERT INTO products" in str(s.attr("db.statement")) for s in sql)
    # The admin token check is in the same trace: Envoy's ext_authz call and the Store
    # service's Check span.
    assert any(s.service == "shop-store" and s.name.endswith("Authorization/Check") for s in spans)
    # Every span of the tenant request carries the store (Envoy's tags are strings).
    for span in [ingress, server, *sql]:
        assert str(span.attr("store.id")) == shop.id, span
    # SQL parameters never leave the process.
    assert not any(key.startswith("db.statement.param") for s in sql for key in s.attributes)


def test_envoy_starts_a_trace_for_a_storefront_request(traced_http, shop, otlp):
    r = traced_http.get("/v1/products", headers={"host": shop.host})
    assert r.status_code == 200, r.text

    def started(spans: list[ReceivedSpan]) -> bool:
        return any(
            s.service == "shop-edge"
            and s.kind == SERVER
            and s.attr("http.url") == f"http://{shop.host}/v1/products"
            and any(
                t.trace_id == s.trace_id and t.name.endswith("Storefront/ListProducts")
                for t in spans
            )
            for s in spans
        )

    spans = otlp.wait_for(started)
    servers = {s.trace_id: s for s in spans if s.name.endswith("Storefront/ListProducts")}
    ingress = next(
        s
        for s in spans
        if s.attr("http.url") == f"http://{shop.host}/v1/products" and s.trace_id in servers
    )
    assert ingress.parent_span_id == ""  # a new trace, started at the edge
    assert ingress.attr("store.id") == shop.id
    assert servers[ingress.trace_id].attr("store.id") == int(shop.id)


def test_health_checks_are_not_traced(traced_stack, otlp):
    # The stack polled every service's health until it served; none of that is a span.
    assert not any("grpc.health" in s.name for s in otlp.spans())


def _json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_service_logs_are_json_with_trace_store_method_status_and_duration(
    traced_http, traced_stack, shop, otlp
):
    trace_id, traceparent = _traceparent()
    r = traced_http.get("/v1/products", headers={"host": shop.host, "traceparent": traceparent})
    assert r.status_code == 200
    otlp.wait_for(lambda spans: any(s.trace_id == trace_id for s in spans))

    for service in ("store", "catalog"):
        lines = _json_lines(traced_stack.run_dir / f"{service}.log")  # every line parses
        assert all({"ts", "level", "event", "service"} <= line.keys() for line in lines)
    catalog = _json_lines(traced_stack.run_dir / "catalog.log")
    [line] = [x for x in catalog if x.get("trace_id") == trace_id and x["event"] == "rpc"]
    assert line["method"] == "/shop.catalog.v1.Storefront/ListProducts"
    assert line["store_id"] == int(shop.id)
    assert line["status"] == "OK"
    assert line["duration_ms"] > 0
    assert len(line["span_id"]) == 16


def test_tokens_and_card_numbers_never_reach_any_log(traced_http, traced_stack, shop):
    pan_digits = CARD.replace(" ", "")
    bad_token = "shpat_" + uuid.uuid4().hex
    # A valid admin call carrying a card number in a stored field, one with an unknown
    # card-shaped field (refused by the JSON guard), one with a wrong token, and a storefront
    # search for the number.
    body = product_body("Card Tee", skus=[f"CT-{uuid.uuid4().hex[:6]}"])
    body["description"] = f"paid with {CARD}"
    assert traced_http.post("/v1/admin/products", headers=admin(shop), json=body).status_code == 200
    body["card_number"] = pan_digits
    r = traced_http.post("/v1/admin/products", headers=admin(shop), json=body)
    assert r.status_code == 400
    r = traced_http.get(
        "/v1/admin/store", headers={"host": shop.host, "authorization": f"Bearer {bad_token}"}
    )
    assert r.status_code == 401
    traced_http.get(f"/v1/products?query={pan_digits}", headers={"host": shop.host})

    logs = {p.name: p.read_text() for p in traced_stack.run_dir.glob("*.log")}
    assert {"store.log", "catalog.log", "envoy.log"} <= logs.keys()
    assert any('"event":"rpc"' in text for text in logs.values())
    for name, text in logs.items():
        for secret in (shop.token, bad_token, pan_digits, CARD):
            assert secret not in text, f"{secret!r} found in {name}"


def test_rest_checkout_is_one_trace_and_its_consumer_span_links_to_it(traced_http, shop, otlp):
    r = traced_http.post(
        "/v1/admin/products",
        headers=admin(shop),
        json=product_body("Traced Mug", skus=[f"TM-{uuid.uuid4().hex[:6]}"]),
    )
    variant_id = r.json()["variants"][0]["id"]
    cart = traced_http.post(
        "/v1/carts",
        headers={"host": shop.host},
        json={"lines": [{"variant_id": variant_id, "quantity": 1}]},
    ).json()["id"]
    trace_id, traceparent = _traceparent()
    r = traced_http.post(
        f"/v1/carts/{cart}/checkout",
        headers={
            "host": shop.host,
            "idempotency-key": uuid.uuid4().hex,
            "traceparent": traceparent,
        },
        json={
            "email": "t@example.com",
            "payment_method": "pm_card_visa",
            "shipping_address": {
                "name": "T",
                "line1": "1 St",
                "city": "C",
                "postal_code": "1",
                "country": "US",
            },
        },
    )
    assert r.status_code == 200, r.text

    def done(spans: list[ReceivedSpan]) -> bool:
        return _complete(trace_id, "Checkout/Checkout")(spans) and any(
            trace_id in s.links and s.name == "consume email" for s in spans
        )

    spans = otlp.wait_for(done)
    mine = _in_trace(trace_id, spans)
    server = next(s for s in mine if s.name == "/shop.checkout.v1.Checkout/Checkout")
    sql = [s for s in mine if s.service == "shop-checkout" and s.attr("db.statement")]
    assert any("FOR UPDATE" in str(s.attr("db.statement")) for s in sql)
    assert any("INSERT INTO orders" in str(s.attr("db.statement")) for s in sql)
    for span in [server, *sql]:
        assert str(span.attr("store.id")) == shop.id, span
    # The order confirmation is consumed later, in a trace of its own linked to this one.
    consumers = [s for s in spans if trace_id in s.links]
    assert any(
        s.name == "consume email" and str(s.attr("store.id")) == shop.id for s in consumers
    ), consumers
