"""Phase 1: checkouts of two random variants out of the spread catalog, at a given concurrency
and payment latency; orders/s, latency, retries and CPU per order over the whole platform."""

from __future__ import annotations

import json
import os
import random

import httpx

from bench.checkout.load import wrk_checkouts
from bench.checkout.platform import PLATFORM_PROCS, Platform
from bench.checkout.shopping import spread_lines
from bench.cpu import own_cpu


class Spread:
    def __init__(self, platform: Platform, args) -> None:
        self.platform = platform
        self.args = args
        self.rng = random.Random(11)
        self.runs = 0

    def run(
        self, name: str, connections: int, latency_ms: int, seconds: int, body: dict | None = None
    ) -> dict:
        """`body`: the checkout request (default: shopping.CHECKOUT_BODY)."""
        p, args = self.platform, self.args
        p.emulator_latency(latency_ms)
        self.runs += 1
        # Enough carts for the fastest plausible rate; a thread that runs out stops early.
        count = args.max_rate * seconds
        ids = p.carts.write(spread_lines(count, args.variants, self.rng))
        with httpx.Client(base_url=p.stack.edge_url, timeout=10) as http:
            p.carts.check(http, p.store.host, ids[-1], 2)
        keys = [f"bench-{self.runs}-{i}" for i in range(count)]
        orders_before = p.orders()
        retries_before = p.serialization_retries()
        sink_before = own_cpu()
        p.cpu.start()
        load = wrk_checkouts(p.stack.edge_url, p.store.host, ids, keys, connections, seconds, body)
        settle_s = p.wait_settled()
        window = load.seconds + settle_s
        cpu = p.cpu.stop()
        sink = own_cpu() - sink_before
        retries = p.serialization_retries() - retries_before
        orders = p.orders() - orders_before
        counted = (*PLATFORM_PROCS, "postgres")
        platform_cpu = sum(cpu.get(name, 0.0) for name in counted)
        # Per order placed in the window, as the database counts them: some requests that
        # wrk cut off at its end still finish, and their work is in the window.
        per_order = 1000 / max(orders, 1)
        # wrk closes its connections with requests in flight when its time is up: Envoy
        # cancels those calls, and their checkouts wait for the recovery worker (after the
        # lease). Let it finish them outside the measured window, so they do not land in the
        # next run.
        unfinished = p.unfinished()
        recovered_s = p.wait_recovered() if unfinished else 0.0
        others = cpu["machine"] - platform_cpu - load.cpu_s - sink - cpu["redis"] - cpu["rabbitmq"]
        row = {
            "connections": connections,
            "emulator_latency_ms": latency_ms,
            "orders_per_s": round(load.ok / load.seconds, 1),
            "p50_ms": round(load.p50_ms, 1),
            "p99_ms": round(load.p99_ms, 1),
            "orders": load.ok,
            "orders_in_db": orders,
            "non_2xx": {str(k): v for k, v in load.statuses.items() if k != 200},
            "socket_errors": load.socket_errors,
            "carts_exhausted": load.exhausted,
            "cut_off_checkouts": unfinished,
            "cut_off_recovered_after_s": round(recovered_s, 1),
            "seconds": round(load.seconds, 2),
            "serialization_retries": int(retries),
            "retries_per_order": round(retries / max(load.ok, 1), 4),
            "cpu_ms_per_order": round(platform_cpu * per_order, 2),
            "cpu_ms_per_order_by_process": {
                name: round(cpu.get(name, 0.0) * per_order, 2) for name in counted
            },
            "not_in_total_cpu_ms_per_order": {
                "wrk": round(load.cpu_s * per_order, 2),
                "bench_process_smtp_sink": round(sink * per_order, 2),
                "redis_shared": round(cpu.get("redis", 0.0) * per_order, 2),
                "rabbitmq_shared": round(cpu.get("rabbitmq", 0.0) * per_order, 2),
            },
            # The machine is shared: how busy it was, and how much of that was not this run.
            "machine_busy_cores": round(cpu["machine"] / window, 2),
            "others_busy_cores": round(others / window, 2),
            "settle_after_s": round(settle_s, 2),
            "loadavg_1m_after": round(os.getloadavg()[0], 2),
        }
        print(
            f"  {name}: {row['orders_per_s']} orders/s, p50 {row['p50_ms']} ms,"
            f" p99 {row['p99_ms']} ms, {row['cpu_ms_per_order']} CPU ms/order,"
            f" retries {row['serialization_retries']}; machine busy {row['machine_busy_cores']}"
            f" cores, {row['others_busy_cores']} of them not this run",
            flush=True,
        )
        if orders < load.ok or row["non_2xx"] or load.exhausted or p.unfinished():
            print(f"  {name}: WARNING {json.dumps(row)}", flush=True)
        return row
