"""Prometheus metrics of a process, served on its own port (`METRICS_PORT`) for scraping.

Per-method gRPC metrics are recorded by the telemetry interceptor; the business counters below
are defined here once so checkout, the outbox relay and the consumers increment the same
series. Never label by store id: one series per store would grow without bound — per-store
questions are answered by traces and logs, which carry `store.id`."""

from __future__ import annotations

import logging
from wsgiref.simple_server import WSGIServer

from prometheus_client import Counter, Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)

# --- per gRPC method (names as in the widely used go-grpc-prometheus dashboards) ---------------
RPC_HANDLED = Counter(
    "grpc_server_handled",
    "gRPC calls completed, by method and status code.",
    ["grpc_service", "grpc_method", "grpc_code"],
)
RPC_SECONDS = Histogram(
    "grpc_server_handling_seconds",
    "Time to handle a gRPC call, by method.",
    ["grpc_service", "grpc_method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# --- business counters (incremented by the checkout and events work) ---------------------------
ORDERS_CREATED = Counter("shop_orders_created", "Orders created (paid or pending payment).")
PAYMENT_DECLINES = Counter(
    "shop_payment_declines",
    "Payments the provider declined, by decline code (a small fixed set, e.g. card_declined).",
    ["reason"],
)
OVERSELL_PREVENTED = Counter(
    "shop_oversell_prevented",
    "Checkouts refused because a variant with policy 'deny' had too little stock.",
)
CHECKOUT_RETRIES = Counter(
    "shop_checkout_serialization_retries",
    "Inventory transactions retried after a serialization failure or deadlock.",
)
FINALIZE_GAVE_UP = Counter(
    "shop_checkout_finalize_gave_up",
    "Succeeded payments whose order could not be written after the bounded tries (refunded).",
)
PAYMENTS_REFUNDED = Counter(
    "shop_payments_refunded_automatically",
    "Payments refunded because no order could take them, by reason.",
    ["reason"],
)
REFUNDS_RECORDED = Counter(
    "shop_refunds_recorded",
    "Refunds recorded on orders, by who made them (admin: the platform's API; stripe: Stripe's"
    " Dashboard).",
    ["source"],
)
REFUNDS_FAILED = Counter(
    "shop_refunds_failed",
    "Refunds that failed or were canceled after being made (the money went back to the store),"
    " by Stripe's failure_reason (a small fixed set). Alert on any increase.",
    ["reason"],
)
DISPUTES = Counter(
    "shop_disputes",
    "Disputes of order payments: opened, and closed by outcome (won, lost, warning_closed,"
    " prevented).",
    ["outcome"],
)
PAYOUTS_FAILED = Counter(
    "shop_payouts_failed",
    "Payouts to a store's bank account that failed, by Stripe's failure_code. Alert on any"
    " increase.",
    ["code"],
)
OUTBOX_PENDING = Gauge("shop_outbox_pending_events", "Outbox events not yet published.")
OUTBOX_LAG_SECONDS = Gauge(
    "shop_outbox_lag_seconds", "Age of the oldest outbox event not yet published."
)
EVENTS_PUBLISHED = Counter(
    "shop_events_published", "Events the relay published to RabbitMQ (confirmed).", ["exchange"]
)
EVENTS_CONSUMED = Counter(
    "shop_events_consumed",
    "Events a consumer finished, by consumer and outcome (processed, duplicate, dead_lettered).",
    ["consumer", "outcome"],
)

WEBHOOK_FAILURES = Counter(
    "shop_webhook_delivery_failures",
    "Webhook attempts that got no 2xx, by kind (refused, timeout, connect, tls, protocol,"
    " http_status); merchants see only a generic reason, operators this and the logs.",
    ["kind"],
)

RETENTION_DELETED = Counter(
    "shop_retention_deleted_rows",
    "Rows the retention reaper deleted, by table (webhook_deliveries counts deliveries; their"
    " attempts go with them).",
    ["table"],
)


def start_metrics_server(port: int, address: str = "127.0.0.1") -> WSGIServer | None:
    """Serves /metrics on `address:port` (loopback locally; the pod's address in Kubernetes,
    where the scraper is another pod) from a daemon thread, off the event loop. Port 0 disables.
    A port already in use is logged, not fatal: the service itself must keep serving without
    its metrics."""
    if port <= 0:
        return None
    try:
        server, _thread = start_http_server(port, addr=address)
    except OSError as exc:
        log.error("metrics port %s:%d unavailable (%s); /metrics not served", address, port, exc)
        return None
    log.info("metrics on %s:%d/metrics", address, port)
    return server
