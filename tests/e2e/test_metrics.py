"""Prometheus scraping: each process serves per-method counts, latency and status on its own
metrics port, with telemetry (tracing) off as in the main suite."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families


def _scrape(port: int) -> dict[str, list]:
    r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert r.status_code == 200
    return {f.name: f.samples for f in text_string_to_metric_families(r.text)}


def _value(samples, name: str, **labels) -> float:
    return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())


def test_catalog_exports_per_method_count_latency_and_status(stack, http, store_a):
    method = {"grpc_service": "shop.catalog.v1.Storefront", "grpc_method": "GetProductByHandle"}
    before = _scrape(stack.metrics_ports["catalog"])
    ok_before = _value(
        before.get("grpc_server_handled", []), "grpc_server_handled_total", grpc_code="OK", **method
    )
    assert http.get("/v1/products/tee", headers={"host": store_a.host}).status_code == 200
    assert http.get("/v1/products/nope", headers={"host": store_a.host}).status_code == 404

    after = _scrape(stack.metrics_ports["catalog"])
    handled = after["grpc_server_handled"]
    assert _value(handled, "grpc_server_handled_total", grpc_code="OK", **method) == ok_before + 1
    assert _value(handled, "grpc_server_handled_total", grpc_code="NOT_FOUND", **method) >= 1
    latency = after["grpc_server_handling_seconds"]
    assert _value(latency, "grpc_server_handling_seconds_count", **method) >= 2
    # Probes are not requests.
    assert not any(s.labels.get("grpc_service") == "grpc.health.v1.Health" for s in handled)
    # Business series exist from the start (scrapers see 0, not "no data").
    assert "shop_oversell_prevented" in after and "shop_outbox_lag_seconds" in after


def test_every_process_has_its_own_metrics_port(stack):
    ports = {stack.metrics_ports[s] for s in ("store", "catalog")}
    assert len(ports) == 2
    for port in ports:
        assert "process_cpu_seconds" in _scrape(port)
