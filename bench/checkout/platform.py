"""The platform's side of a checkout run: the stack under test, its store and carts, and what
the benchmark reads from it or sets on it between runs (never inside a measured window)."""

from __future__ import annotations

import json
import logging
import re
import time
import urllib.request
from dataclasses import dataclass

import httpx

from bench.checkout.carts import Carts
from bench.checkout.shopping import CHECKOUT_BODY, variant_id
from bench.cpu import CpuMeter
from bench.db import scalar
from bench.seeding import BenchStore
from devstack.stack import Stack

log = logging.getLogger("bench.checkout")
RETRIES_METRIC = "shop_checkout_serialization_retries_total"
# Every process of the platform whose CPU counts per order (names of Stack.procs).
PLATFORM_PROCS = ("envoy", "store", "catalog", "checkout", "relay", "consumers", "stripe")
UNFINISHED = ("processing", "reserved", "requires_action")


@dataclass
class Platform:
    stack: Stack
    admin_db: str
    store: BenchStore
    carts: Carts
    cpu: CpuMeter

    def check_checkout(self) -> None:
        """One checkout of the spread catalog must place an order before anything is measured:
        a platform that refuses them all would otherwise be measured answering errors fast."""
        cart = self.carts.write([[str(variant_id(1)), str(variant_id(2))]])[0]
        with httpx.Client(base_url=self.stack.edge_url, timeout=30) as http:
            r = http.post(
                f"/v1/carts/{cart}/checkout",
                headers={"host": self.store.host, "idempotency-key": f"bench-check-{cart}"},
                json=CHECKOUT_BODY,
            )
        if r.status_code != 200:
            raise SystemExit(f"a bench checkout was refused: {r.status_code} {r.text}")
        self.wait_settled()

    def emulator_latency(self, ms: int) -> None:
        """How long the Stripe emulator takes to answer a PaymentIntent call."""
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.stack.ports.stripe}/_emulator/latency",
            data=json.dumps({"ms": ms, "path": "/v1/payment_intents"}).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200

    def serialization_retries(self) -> float:
        """The checkout service's Prometheus counter."""
        url = f"http://127.0.0.1:{self.stack.metrics_ports['checkout']}/metrics"
        with urllib.request.urlopen(url, timeout=10) as r:
            text = r.read().decode()
        match = re.search(rf"^{RETRIES_METRIC} ([\d.e+]+)$", text, re.M)
        return float(match.group(1)) if match else 0.0

    def orders(self) -> int:
        return scalar(
            self.admin_db, "SELECT count(*) FROM orders WHERE store_id = $1", self.store.id
        )

    def unfinished(self) -> int:
        return scalar(
            self.admin_db,
            "SELECT count(*) FROM checkouts WHERE store_id = $1 AND state = ANY($2::text[])",
            self.store.id,
            list(UNFINISHED),
        )

    def wait_settled(self, timeout: float = 120) -> float:
        """Until every outbox row is published and every order's email sent: the
        asynchronous tail of the orders placed so far. Seconds waited."""
        started = time.monotonic()
        while True:
            pending = scalar(
                self.admin_db,
                """SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL)
                        + (SELECT count(*) FROM orders WHERE store_id = $1)
                        - (SELECT count(*) FROM sent_emails WHERE store_id = $1)""",
                self.store.id,
            )
            if pending <= 0:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                log.warning("%s events or emails still pending after %.0fs", pending, timeout)
                return time.monotonic() - started
            time.sleep(0.1)

    def wait_recovered(self, timeout: float = 120) -> float:
        """Until the recovery worker has finished every cut-off checkout, and their tail."""
        started = time.monotonic()
        while self.unfinished() and time.monotonic() - started < timeout:
            time.sleep(0.5)
        self.wait_settled()
        return time.monotonic() - started

    def idle(self, seconds: float) -> dict[str, float]:
        """Cores each process uses with no traffic (pollers, timers): the background that
        every per-order figure includes, spread over that run's orders."""
        self.cpu.start()
        time.sleep(seconds)
        cpu = self.cpu.stop()
        return {p: round(cpu.get(p, 0.0) / seconds, 3) for p in (*PLATFORM_PROCS, "postgres")}
