"""Checkout through Envoy over REST, against the Stripe emulator, and the database's own limit.

1. Spread: every checkout buys two random variants out of 10,000 (one unit each), at 32
   concurrent with the emulator answering in 0 ms and in 100 ms, and at 256 concurrent with
   100 ms (whose orders/s is compared with the 0 ms figure: target >= 80%). Reported: orders/s,
   p50 / p99 of the checkout request, serialization retries (the checkout's Prometheus counter),
   and CPU ms per order summed over every process of the platform: Envoy, the store, catalog
   and checkout services, the outbox relay, the consumers, the Stripe emulator and this
   database's PostgreSQL backends. The CPU window runs from the first request until the
   order.created events are published and the confirmation emails sent, so the asynchronous
   work an order causes (relay, email consumer, Stripe's webhook back through Envoy) is in it.
   A 5 s warm-up runs first, then ANALYZE (see main(): fresh, never-analyzed
   checkout tables make the planner pick a plan that fails most reservations); the warm-up's
   figures are kept in the JSON as "warmup_cold_stats". Checkouts that wrk cuts off when its
   time is up are finished by the recovery worker (30 s lease) between runs, outside any window.
2. Hot SKU: one variant with stock 50, 200 buyers at once (each with its own cart; a 409 is
   retried with the same Idempotency-Key, as a client would): orders placed (must be 50),
   time until the 50th order was confirmed, 400 (sold out) and 409 counts.
3. pgbench, 8 clients, as shop_app (RLS applies), spread over the same variants: the SQL of the
   reservation and finalisation, taken from the service modules. "serializable": all of it in
   one SERIALIZABLE transaction (as the benchmark brief words it); "as-service": split the way
   the service runs it (claim, SERIALIZABLE reserve, read-only account look-up, finalise in
   READ COMMITTED). The services are stopped first. The ratio checkout orders/s (spread, 32,
   0 ms) / pgbench TPS is printed for both.

Seeding bypasses the API where the API would be the slow part: the 10,000 variants are COPYed
as the admin (superuser) role with session_replication_role = replica (no per-row triggers;
the product summary the variants trigger maintains is computed here), and every cart is
written straight to Redis in the checkout service's own format (cart_store.StoredCart), ahead
of its measured window, so the measured requests are checkouts only; one cart of each batch is
read back through GET /v1/carts to check the format. The store signs up through the API and is
put on the enterprise plan (SQL as admin) so Envoy's per-store limit does not cap the run; the
hot SKU is created through the admin API.

The load generator is wrk (C) with a Lua script reading cart ids and Idempotency-Keys from a
pre-generated file; its CPU is reported on its own, as is that of the SMTP sink (it stands in
for the mail provider; it runs in this process). Redis and RabbitMQ are shared with whatever
else runs on the machine: their CPU is shown but left out of the per-order total.

The machine is shared: each run also reports how busy all cores were and how much of that
was not this benchmark ("others_busy_cores").

Run with `make bench` or `python -m bench.checkout --seconds 20` (about 3.5 minutes)."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import os
import platform
import random
import re
import resource
import shutil
import subprocess
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
import redis
from aiosmtpd.controller import Controller

from bench.seeding import UNLIMITED_PLAN, BenchStore, set_plan, wait_rate_limit
from bench.tools import ensure_tools
from devstack.amqp import create_vhost, delete_vhost, ensure_rabbitmq, with_vhost
from devstack.dsn import with_database
from devstack.infra import ensure_postgres, ensure_redis, free_port
from devstack.migrate import drop_database
from devstack.stack import STATE_DIR, Stack
from services.checkout.cart.store import StoredCart, StoredLine
from services.checkout.cart.store import _key as cart_key
from services.checkout.checkout import records, stock
from services.checkout.orders.repository import ORDER_SELECT
from services.common import outbox
from services.store.edge.rate_limits import PLANS

RESULTS = Path(__file__).resolve().parent / "results"
log = logging.getLogger("bench.checkout")

SIZES = ("XS", "S", "M", "L", "XL")
SPREAD_STOCK = 1_000_000  # never runs out: the spread run measures throughput, not sell-outs
ADDRESS = {
    "name": "Ada Buyer",
    "line1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}
CHECKOUT_BODY = {
    "email": "ada@example.com",
    "shipping_address": ADDRESS,
    "payment_method": "pm_card_visa",
}
RETRIES_METRIC = "shop_checkout_serialization_retries_total"
# Every process of the platform whose CPU counts per order (names of Stack.procs).
PLATFORM_PROCS = ("envoy", "store", "catalog", "checkout", "relay", "consumers", "stripe")


def variant_id(n: int) -> uuid.UUID:
    """Variant n (1-based) of the spread catalog. Derived from n, so the pgbench script can
    compute the same ids in SQL (md5(...)::uuid) without a look-up table; md5 scatters them
    over the index like random ids."""
    return uuid.UUID(hashlib.md5(f"bench-variant-{n}".encode()).hexdigest())


def variant_sql(expr: str) -> str:
    """variant_id() in SQL, for a pgbench integer expression."""
    return f"md5('bench-variant-' || {expr}::int)::uuid"


# --- tools ---------------------------------------------------------------------------------


def ensure_pgbench(admin_dsn: str) -> None:
    """pgbench ships with Debian's PostgreSQL client package of the server's major version."""
    if shutil.which("pgbench"):
        return
    major = asyncio.run(_server_major(admin_dsn))
    package = f"postgresql-client-{major}"
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SystemExit(f"this benchmark needs pgbench: apt-get install {package}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True, env=env)


async def _server_major(admin_dsn: str) -> int:
    conn = await asyncpg.connect(admin_dsn)
    try:
        return int(await conn.fetchval("SHOW server_version_num")) // 10000
    finally:
        await conn.close()


class _Discard:
    async def handle_DATA(self, server, session, envelope) -> str:
        return "250 OK"


def start_mail_sink() -> Controller:
    """An SMTP server that accepts and drops every message: the email consumer's peer."""
    controller = Controller(_Discard(), hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller


# --- CPU over many processes ---------------------------------------------------------------


def _cpu(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


class CpuAccount:
    """CPU seconds per group of processes between start() and stop(). Processes are found
    again at stop(), so PostgreSQL backends connected during the window count from zero."""

    def __init__(self, stack: Stack, redis_port: int) -> None:
        self._stack = stack
        self._redis_port = redis_port
        self._start: dict[str, dict[int, float]] = {}
        self._redis_pid: int | None = None

    def _groups(self) -> dict[str, list[psutil.Process]]:
        groups = {
            name: [psutil.Process(p.pid)]
            for name, p in self._stack.procs.items()
            if p.poll() is None
        }
        marker = f" {self._stack.database} "
        groups["postgres"] = []
        groups["rabbitmq"] = []
        groups["redis"] = []
        for proc in psutil.process_iter(["name", "cmdline"]):
            name = proc.info["name"] or ""
            cmdline = " ".join(proc.info["cmdline"] or ()) + " "
            if name.startswith("postgres") and marker in cmdline:
                groups["postgres"].append(proc)
            elif name == "beam.smp" and "rabbit" in cmdline:
                groups["rabbitmq"].append(proc)
            elif name == "redis-server" and self._is_our_redis(proc):
                groups["redis"].append(proc)
        return groups

    def _is_our_redis(self, proc: psutil.Process) -> bool:
        if self._redis_pid is not None:
            return proc.pid == self._redis_pid
        try:
            ports = {c.laddr.port for c in proc.net_connections("tcp") if c.status == "LISTEN"}
        except psutil.Error:
            return False
        if self._redis_port in ports:
            self._redis_pid = proc.pid
            return True
        return False

    def _sample(self) -> dict[str, dict[int, float]]:
        sample: dict[str, dict[int, float]] = {}
        for group, procs in self._groups().items():
            sample[group] = {}
            for proc in procs:
                try:
                    sample[group][proc.pid] = _cpu(proc)
                except psutil.Error:
                    pass  # exited between listing and reading
        return sample

    def start(self) -> None:
        self._start = self._sample()
        self._machine = _machine_busy()

    def stop(self) -> dict[str, float]:
        """Seconds per group, and "machine": every core's busy time (everything that ran)."""
        end = self._sample()
        spent = {
            group: sum(cpu - self._start.get(group, {}).get(pid, 0.0) for pid, cpu in pids.items())
            for group, pids in end.items()
        }
        spent["machine"] = _machine_busy() - self._machine
        return spent


def _machine_busy() -> float:
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def children_cpu() -> float:
    """CPU seconds of this process's reaped children (the load generators)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def own_cpu() -> float:
    """This process (the SMTP sink's thread; the main thread only waits meanwhile)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- seeding ---------------------------------------------------------------------------------


def signup(http: httpx.Client) -> BenchStore:
    subdomain = f"ck-{uuid.uuid4().hex[:10]}"
    r = http.post(
        "/v1/stores",
        headers={"host": "api.myshop.localhost"},
        json={
            "name": "Bench Checkout",
            "subdomain": subdomain,
            "owner_email": "bench@example.com",
            "currency": "USD",
        },
    )
    r.raise_for_status()
    body = r.json()
    return BenchStore(
        int(body["store"]["id"]), body["store"]["primary_domain"], body["admin_token"]["token"]
    )


async def seed_variants(admin_db_dsn: str, store_id: int, count: int) -> float:
    """`count` variants (5 sizes per product), COPYed as the superuser; seconds taken."""
    rng = random.Random(7)
    products, variants = [], []
    started = time.monotonic()
    for p in range(count // len(SIZES)):
        product_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        base = rng.randrange(500, 20_000, 100)
        products.append(
            (
                store_id,
                product_id,
                f"spread-{p}",
                f"Spread Item {p}",
                "A product of the spread catalog.",
                "active",
                ["Size"],
                base,
                base,
                True,
            )
        )
        for position, size in enumerate(SIZES, 1):
            n = p * len(SIZES) + position
            variants.append(
                (
                    store_id,
                    variant_id(n),
                    product_id,
                    position,
                    f"SP-{n}",
                    size,
                    base,
                    "USD",
                    SPREAD_STOCK,
                    "deny",
                    json.dumps([size]),
                )
            )
    conn = await asyncpg.connect(admin_db_dsn)
    try:
        # Superuser: RLS does not apply; replica: no per-row triggers or FK checks (the
        # price range and availability the variants trigger keeps are set above).
        await conn.execute("SET session_replication_role = replica")
        await conn.copy_records_to_table(
            "products",
            records=products,
            columns=(
                "store_id",
                "id",
                "handle",
                "title",
                "description",
                "status",
                "options",
                "min_price",
                "max_price",
                "available",
            ),
        )
        await conn.copy_records_to_table(
            "variants",
            records=variants,
            columns=(
                "store_id",
                "id",
                "product_id",
                "position",
                "sku",
                "title",
                "price",
                "currency",
                "inventory_quantity",
                "inventory_policy",
                "options",
            ),
        )
        await conn.execute("RESET session_replication_role")
        await conn.execute("VACUUM ANALYZE products")
        await conn.execute("VACUUM ANALYZE variants")
    finally:
        await conn.close()
    return time.monotonic() - started


def hot_variant(http: httpx.Client, store: BenchStore, quantity: int) -> str:
    """Created through the admin API (the triggers and events of a real product)."""
    r = http.post(
        "/v1/admin/products",
        headers={"host": store.host, "authorization": f"Bearer {store.token}"},
        json={
            "title": "Flash Sale Sneaker",
            "status": "PRODUCT_STATUS_ACTIVE",
            "variants": [
                {
                    "sku": "HOT-1",
                    "price": {"amount_minor": 9900},
                    "inventory_quantity": quantity,
                    "inventory_policy": "INVENTORY_POLICY_DENY",
                }
            ],
        },
    )
    r.raise_for_status()
    return r.json()["variants"][0]["id"]


@dataclass
class Carts:
    """Writes carts straight to Redis in the checkout service's format."""

    redis_url: str
    store_id: int
    written: list[str] = field(default_factory=list)

    def write(self, lines_per_cart: list[list[str]]) -> list[str]:
        client = redis.Redis.from_url(self.redis_url)
        ids = []
        try:
            pipe = client.pipeline(transaction=False)
            for i, variant_ids in enumerate(lines_per_cart, 1):
                cart = StoredCart(
                    uuid.uuid4().hex,
                    [StoredLine(uuid.uuid4().hex[:12], v, 1) for v in variant_ids],
                )
                pipe.set(cart_key(self.store_id, cart.id), cart.to_json(), ex=3600)
                ids.append(cart.id)
                if i % 2000 == 0:
                    pipe.execute()
            pipe.execute()
        finally:
            client.close()
        self.written += ids
        return ids

    def check(self, http: httpx.Client, host: str, cart_id: str, lines: int) -> None:
        """The service reads what was written (catches a change of the cart format)."""
        r = http.get(f"/v1/carts/{cart_id}", headers={"host": host})
        assert r.status_code == 200, r.text
        assert len(r.json()["lines"]) == lines, r.text

    def delete_all(self) -> None:
        client = redis.Redis.from_url(self.redis_url)
        try:
            for i in range(0, len(self.written), 2000):
                keys = [cart_key(self.store_id, c) for c in self.written[i : i + 2000]]
                client.delete(*keys)
        finally:
            client.close()


def spread_lines(count: int, variants: int, rng: random.Random) -> list[list[str]]:
    """Two different random variants per cart."""
    return [
        [str(variant_id(n)) for n in rng.sample(range(1, variants + 1), 2)] for _ in range(count)
    ]


# --- wrk ---------------------------------------------------------------------------------------

LUA = r"""
-- Each thread takes every nthreads-th line of the file: "<cart id> <idempotency key>".
local file, nthreads, host = "%(file)s", %(threads)d, "%(host)s"
local body = [[%(body)s]]
local counter, threads = 0, {}
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
local carts, keys, i = {}, {}, 0
function init(args)
  local n = 0
  for line in io.lines(file) do
    if n %% nthreads == tid then
      local c, k = line:match("^(%%S+) (%%S+)$")
      carts[#carts + 1] = c
      keys[#keys + 1] = k
    end
    n = n + 1
  end
  statuses = {}
  exhausted = 0
end
function request()
  i = i + 1
  if i > #carts then
    -- Out of carts: stop this thread; its last request is a cheap miss, counted apart.
    exhausted = exhausted + 1
    wrk.thread:stop()
    return wrk.format("GET", "/v1/carts/exhausted", {["Host"] = host})
  end
  return wrk.format("POST", "/v1/carts/" .. carts[i] .. "/checkout",
    {["Host"] = host, ["Idempotency-Key"] = keys[i], ["Content-Type"] = "application/json"},
    body)
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local total, parts, ex = {}, {}, 0
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do
      total[code] = (total[code] or 0) + n
    end
    ex = ex + t:get("exhausted")
  end
  for code, n in pairs(total) do
    parts[#parts + 1] = string.format('"%%d": %%d', code, n)
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, ' ..
    '"socket_errors": %%d, "exhausted": %%d, "statuses": {%%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, ex, table.concat(parts, ", ")))
end
"""


@dataclass
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]
    socket_errors: int
    exhausted: int
    cpu_s: float  # wrk's own

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)


def wrk_checkouts(
    edge_url: str, host: str, carts: list[str], keys: list[str], connections: int, seconds: int
) -> Load:
    threads = 2
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "carts.txt"
        data.write_text("".join(f"{c} {k}\n" for c, k in zip(carts, keys, strict=True)))
        script = Path(tmp) / "checkout.lua"
        script.write_text(
            LUA
            % {
                "file": data,
                "threads": threads,
                "host": host,
                "body": json.dumps(CHECKOUT_BODY),
            }
        )
        before = children_cpu()
        out = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout",
                "30s",
                "-s",
                str(script),
                f"{edge_url}/",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        cpu = children_cpu() - before
    match = re.search(r"^RESULT (.*)$", out, re.M)
    if match is None:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    raw = json.loads(match.group(1))
    statuses = {int(k): v for k, v in raw["statuses"].items()}
    return Load(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        statuses=statuses,
        socket_errors=raw["socket_errors"],
        exhausted=raw["exhausted"],
        cpu_s=cpu,
    )


# --- the platform's side of a run --------------------------------------------------------------


def emulator_latency(stack: Stack, ms: int) -> None:
    req = urllib.request.Request(
        f"http://127.0.0.1:{stack.ports.stripe}/_emulator/latency",
        data=json.dumps({"ms": ms, "path": "/v1/payment_intents"}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200


def serialization_retries(stack: Stack) -> float:
    url = f"http://127.0.0.1:{stack.metrics_ports['checkout']}/metrics"
    with urllib.request.urlopen(url, timeout=10) as r:
        text = r.read().decode()
    match = re.search(rf"^{RETRIES_METRIC} ([\d.e+]+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


async def _scalar(admin_db_dsn: str, sql: str, *args: object) -> Any:
    conn = await asyncpg.connect(admin_db_dsn)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


def scalar(admin_db_dsn: str, sql: str, *args: object) -> Any:
    return asyncio.run(_scalar(admin_db_dsn, sql, *args))


def wait_settled(admin_db_dsn: str, store_id: int, timeout: float = 120) -> float:
    """Until every outbox row is published and every order's email sent: the asynchronous
    tail of the orders placed so far. Seconds waited."""
    started = time.monotonic()
    while True:
        pending = scalar(
            admin_db_dsn,
            """SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL)
                    + (SELECT count(*) FROM orders WHERE store_id = $1)
                    - (SELECT count(*) FROM sent_emails WHERE store_id = $1)""",
            store_id,
        )
        if pending <= 0:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            log.warning("%s events or emails still pending after %.0fs", pending, timeout)
            return time.monotonic() - started
        time.sleep(0.1)


@dataclass
class Bench:
    args: argparse.Namespace
    stack: Stack
    admin_db: str
    store: BenchStore
    carts: Carts
    cpu: CpuAccount
    rng: random.Random = field(default_factory=lambda: random.Random(11))
    runs: int = 0

    def spread(self, name: str, connections: int, latency_ms: int, seconds: int) -> dict:
        args = self.args
        emulator_latency(self.stack, latency_ms)
        self.runs += 1
        # Enough carts for the fastest plausible rate; a thread that runs out stops early.
        count = args.max_rate * seconds
        ids = self.carts.write(spread_lines(count, args.variants, self.rng))
        with httpx.Client(base_url=self.stack.edge_url, timeout=10) as http:
            self.carts.check(http, self.store.host, ids[-1], 2)
        keys = [f"bench-{self.runs}-{i}" for i in range(count)]
        orders_before = scalar(
            self.admin_db, "SELECT count(*) FROM orders WHERE store_id = $1", self.store.id
        )
        retries_before = serialization_retries(self.stack)
        sink_before = own_cpu()
        self.cpu.start()
        load = wrk_checkouts(self.stack.edge_url, self.store.host, ids, keys, connections, seconds)
        settle_s = wait_settled(self.admin_db, self.store.id)
        window = load.seconds + settle_s
        cpu = self.cpu.stop()
        sink = own_cpu() - sink_before
        retries = serialization_retries(self.stack) - retries_before
        orders = (
            scalar(self.admin_db, "SELECT count(*) FROM orders WHERE store_id = $1", self.store.id)
            - orders_before
        )
        platform_cpu = sum(cpu.get(p, 0.0) for p in (*PLATFORM_PROCS, "postgres"))
        # Per order placed in the window, as the database counts them: some requests that
        # wrk cut off at its end still finish, and their work is in the window.
        per_order = 1000 / max(orders, 1)
        # wrk closes its connections with requests in flight when its time is up: Envoy
        # cancels those calls, and their checkouts wait for the recovery worker (after the
        # 30 s lease). Let it finish them outside the measured window, so they do not land
        # in the next run.
        unfinished = self._unfinished()
        recovered_s = self._wait_recovered() if unfinished else 0.0
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
                p: round(cpu.get(p, 0.0) * per_order, 2) for p in (*PLATFORM_PROCS, "postgres")
            },
            "not_in_total_cpu_ms_per_order": {
                "wrk": round(load.cpu_s * per_order, 2),
                "bench_process_smtp_sink": round(sink * per_order, 2),
                "redis_shared": round(cpu.get("redis", 0.0) * per_order, 2),
                "rabbitmq_shared": round(cpu.get("rabbitmq", 0.0) * per_order, 2),
            },
            # The machine is shared: how busy it was, and how much of that was not this run.
            "machine_busy_cores": round(cpu["machine"] / window, 2),
            "others_busy_cores": round(
                (cpu["machine"] - platform_cpu - load.cpu_s - sink - cpu["redis"] - cpu["rabbitmq"])
                / window,
                2,
            ),
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
        if orders < load.ok or row["non_2xx"] or load.exhausted or self._unfinished():
            print(f"  {name}: WARNING {json.dumps(row)}", flush=True)
        return row

    def _unfinished(self) -> int:
        return scalar(
            self.admin_db,
            "SELECT count(*) FROM checkouts WHERE store_id = $1"
            " AND state IN ('processing', 'reserved', 'requires_action')",
            self.store.id,
        )

    def _wait_recovered(self, timeout: float = 120) -> float:
        started = time.monotonic()
        while self._unfinished() and time.monotonic() - started < timeout:
            time.sleep(0.5)
        wait_settled(self.admin_db, self.store.id)
        return time.monotonic() - started

    def idle(self, seconds: float) -> dict[str, float]:
        """Cores each process uses with no traffic (pollers, timers): the background that
        every per-order figure includes, spread over that run's orders."""
        self.cpu.start()
        time.sleep(seconds)
        cpu = self.cpu.stop()
        return {p: round(cpu.get(p, 0.0) / seconds, 3) for p in (*PLATFORM_PROCS, "postgres")}

    def hot_sku(self) -> dict:
        args = self.args
        emulator_latency(self.stack, 0)
        with httpx.Client(base_url=self.stack.edge_url, timeout=10) as http:
            variant = hot_variant(http, self.store, args.hot_stock)
            ids = self.carts.write([[variant] for _ in range(args.hot_buyers)])
            self.carts.check(http, self.store.host, ids[0], 1)
        retries_before = serialization_retries(self.stack)
        result = asyncio.run(self._buyers(ids))
        result["serialization_retries"] = int(serialization_retries(self.stack) - retries_before)
        sold = scalar(
            self.admin_db,
            "SELECT coalesce(sum(quantity), 0) FROM order_items WHERE variant_id = $1::uuid",
            variant,
        )
        left = scalar(
            self.admin_db, "SELECT inventory_quantity FROM variants WHERE id = $1::uuid", variant
        )
        result.update(
            stock=args.hot_stock,
            buyers=args.hot_buyers,
            units_sold_in_db=sold,
            stock_left=left,
            exactly_stock_sold=(result["orders"] == args.hot_stock == sold and left == 0),
        )
        print(
            f"  hot SKU: {result['orders']} orders, sold out in {result['sell_out_ms']} ms,"
            f" 400: {result['status_400']}, 409: {result['status_409']}, stock left {left},"
            f" serialization retries {result['serialization_retries']}",
            flush=True,
        )
        return result

    async def _buyers(self, cart_ids: list[str]) -> dict:
        """All buyers at once; a 409 (contention, ABORTED) is retried with the same key."""
        limits = httpx.Limits(max_connections=len(cart_ids), max_keepalive_connections=0)
        first: dict[int, int] = {}
        seen: dict[int, int] = {}
        done_at: list[float] = []
        async with httpx.AsyncClient(
            base_url=self.stack.edge_url, timeout=60, limits=limits
        ) as client:
            started = time.monotonic()

            async def buy(cart_id: str) -> None:
                key = f"hot-{cart_id}"
                for attempt in range(20):
                    r = await client.post(
                        f"/v1/carts/{cart_id}/checkout",
                        headers={"host": self.store.host, "idempotency-key": key},
                        json=CHECKOUT_BODY,
                    )
                    seen[r.status_code] = seen.get(r.status_code, 0) + 1
                    if attempt == 0:
                        first[r.status_code] = first.get(r.status_code, 0) + 1
                    if r.status_code != 409:
                        break
                    await asyncio.sleep(random.uniform(0.01, 0.05))
                if r.status_code == 200:
                    done_at.append(time.monotonic() - started)

            await asyncio.gather(*(buy(c) for c in cart_ids))
            finished = time.monotonic() - started
        done_at.sort()
        return {
            "orders": len(done_at),
            "sell_out_ms": round(1000 * done_at[-1], 1) if done_at else None,
            "all_answered_ms": round(1000 * finished, 1),
            "status_400": seen.get(400, 0),
            "status_409": seen.get(409, 0),
            "statuses_all_attempts": {str(k): v for k, v in sorted(seen.items())},
            "statuses_first_attempt": {str(k): v for k, v in sorted(first.items())},
        }


# --- pgbench ---------------------------------------------------------------------------------


def bind(sql: str, *values: str) -> str:
    """The service's SQL with $n replaced by pgbench expressions (highest n first, so $1
    never eats the start of $10)."""
    for n in range(len(values), 0, -1):
        sql = sql.replace(f"${n}", values[n - 1])
    return sql.strip()


def _sql_text(value: object) -> str:
    return "'" + (value if isinstance(value, str) else json.dumps(value)).replace("'", "''") + "'"


def _array(values: list[str], cast: str) -> str:
    return f"ARRAY[{', '.join(values)}]::{cast}"


def pgbench_script(store_id: int, variants: int, mode: str) -> str:
    """One checkout's SQL. mode "serializable": one SERIALIZABLE transaction; "as-service":
    the transactions the service runs (claim, reserve, account, finalise)."""
    a, b = variant_sql(":a"), variant_sql(":b")
    ids = _array([a, b], "uuid[]")
    request = _sql_text({"cart_id": "pgbench", **CHECKOUT_BODY, "billing_address": ADDRESS})
    line = {"product_id": str(uuid.UUID(int=1)), "sku": "SP", "title": "Spread", "quantity": 1}
    reserved = _sql_text([{**line, "variant_id": "a", "unit_price": 1000}] * 2)
    event_data = _sql_text({"variant_id": "v", "quantity": 1, "delta": -1, "version": 2})
    tenant = f"SELECT set_config('app.current_store_id', '{store_id}', true);"
    cols = records._COLUMNS
    claim = [
        f"""INSERT INTO checkouts (store_id, idempotency_key, fingerprint, state, lease_until,
                                   request)
            VALUES (current_setting('app.current_store_id')::bigint,
                    'pgbench-' || gen_random_uuid(), sha256(gen_random_uuid()::text::bytea),
                    'processing', clock_timestamp() + make_interval(secs => 30),
                    {request}::jsonb)
            ON CONFLICT (store_id, idempotency_key) DO NOTHING
            RETURNING {cols} \\gset c_""",
    ]
    reserve = [
        f"SELECT {cols} FROM checkouts WHERE id = :c_id FOR UPDATE;",
        bind(stock._LOCK, ids) + ";",
        bind(stock._MOVE, ids, "ARRAY[-1, -1]::int[]") + ";",
        "SELECT low_stock_threshold FROM stores;",
        bind(
            outbox._INSERT,
            _array(["'inventory.reserved'"] * 2, "text[]"),
            _array([_sql_text(outbox.INVENTORY_EXCHANGE)] * 2, "text[]"),
            _array([f"'inventory.reserved.{store_id}'"] * 2, "text[]"),
            _array(["gen_random_uuid()::text"] * 2, "text[]"),
            _array([event_data] * 2, "text[]"),
            _array(["'{}'"] * 2, "text[]"),
        )
        + ";",
        f"""UPDATE checkouts SET state = 'reserved', reserved_lines = {reserved}::jsonb,
                   currency = 'USD', amount = 2000, updated_at = clock_timestamp()
            WHERE id = :c_id;""",
        """UPDATE checkouts SET lease_until = clock_timestamp() + make_interval(secs => 30),
                  updated_at = clock_timestamp() WHERE id = :c_id;""",
        f"SELECT {cols} FROM checkouts WHERE id = :c_id;",
    ]
    account = ["SELECT stripe_account_id FROM stores;"]
    item = """INSERT INTO order_items (store_id, order_id, line, variant_id, product_id, sku, title,
                                    quantity, unit_price)
           VALUES (current_setting('app.current_store_id')::bigint, :o_id, {n}, {v},
                   '00000000-0000-0000-0000-000000000001', 'SP', 'Spread Item - M', 1, 1000);"""
    finalise = [
        f"SELECT {cols} FROM checkouts WHERE id = :c_id FOR UPDATE;",
        """INSERT INTO store_order_counters (store_id, last_number)
            VALUES (current_setting('app.current_store_id')::bigint, 1001)
            ON CONFLICT (store_id) DO UPDATE
              SET last_number = store_order_counters.last_number + 1
            RETURNING last_number AS number \\gset""",
        f"""INSERT INTO orders (store_id, number, checkout_id, status, email, currency, total,
                               shipping_address, billing_address, payment_intent_id)
           VALUES (current_setting('app.current_store_id')::bigint, :number, :c_id, 'paid',
                   'ada@example.com', 'USD', 2000, {_sql_text(ADDRESS)}::jsonb,
                   {_sql_text(ADDRESS)}::jsonb, 'pi_pgbench')
           RETURNING id AS o_id \\gset""",
        item.format(n=1, v=a),
        item.format(n=2, v=b),
        bind(ORDER_SELECT + "WHERE o.id = $1", ":o_id") + ";",
        bind(
            outbox._INSERT,
            "ARRAY['order.created']::text[]",
            _array([_sql_text(outbox.ORDERS_EXCHANGE)], "text[]"),
            "ARRAY['order.created']::text[]",
            "ARRAY['order-created:' || :o_id]::text[]",
            _array([event_data], "text[]"),
            "ARRAY['{}']::text[]",
        )
        + ";",
        """UPDATE checkouts SET state = 'completed', order_id = :o_id,
                  payment_intent_id = 'pi_pgbench', client_secret = NULL,
                  response = sha256(:o_id::text::bytea), updated_at = clock_timestamp()
            WHERE id = :c_id;""",
    ]
    head = [
        f"\\set a random(1, {variants})",
        # A second, different variant: a + 1 .. a + variants - 1, wrapped.
        f"\\set b 1 + (:a + random(0, {variants - 2})) % {variants}",
    ]
    if mode == "serializable":
        body = [
            "BEGIN ISOLATION LEVEL SERIALIZABLE;",
            tenant,
            *claim,
            *reserve,
            *account,
            *finalise,
            "COMMIT;",
        ]
    else:
        body = [
            "BEGIN;",
            tenant,
            *claim,
            "COMMIT;",
            "BEGIN ISOLATION LEVEL SERIALIZABLE;",
            tenant,
            *reserve,
            "COMMIT;",
            "BEGIN READ ONLY;",
            tenant,
            *account,
            "COMMIT;",
            "BEGIN;",
            tenant,
            *finalise,
            "COMMIT;",
        ]
    return "\n".join(head + body) + "\n"


def _backend_cpu(database: str) -> dict[int, float]:
    marker = f" {database} "
    now = {}
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or ()) + " "
        if (proc.info["name"] or "").startswith("postgres") and marker in cmdline:
            try:
                now[proc.pid] = _cpu(proc)
            except psutil.Error:
                pass
    return now


def run_pgbench(app_dsn: str, database: str, script: str, clients: int, seconds: int) -> dict:
    """pgbench's figures, plus the CPU of its backends: they exit with pgbench, so they are
    sampled while it runs (from 1 s in to 0.5 s before the end) and scaled by the TPS."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "checkout.sql"
        path.write_text(script)
        before = children_cpu()
        proc = subprocess.Popen(
            [
                "pgbench",
                "-n",  # no vacuum of pgbench's own tables (there are none)
                "-M",
                "prepared",
                "-c",
                str(clients),
                "-j",
                "2",
                "-T",
                str(seconds),
                "--max-tries",
                "20",
                "-f",
                str(path),
                app_dsn,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        time.sleep(1)
        first, first_at = _backend_cpu(database), time.monotonic()
        time.sleep(max(seconds - 1.5, 0.5))
        last, last_at = _backend_cpu(database), time.monotonic()
        out, _ = proc.communicate()
        cpu = children_cpu() - before
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    if proc.returncode != 0 or tps is None:
        raise RuntimeError(f"pgbench failed:\n{out[-3000:]}")

    def number(pattern: str) -> int:
        m = re.search(pattern, out)
        return int(m.group(1)) if m else 0

    processed = number(r"number of transactions actually processed: (\d+)")
    latency = re.search(r"latency average = ([\d.]+) ms", out)
    rate = float(tps.group(1))
    backends = sum(c - first.get(pid, 0.0) for pid, c in last.items())
    return {
        "tps": round(rate, 1),
        "transactions": processed,
        "retried_transactions": number(r"number of transactions retried: (\d+)"),
        "total_retries": number(r"total number of retries: (\d+)"),
        "failed": number(r"number of failed transactions: (\d+)"),
        "latency_avg_ms": float(latency.group(1)) if latency else None,
        "postgres_cpu_ms_per_tx": round(1000 * backends / (rate * (last_at - first_at)), 3),
        "pgbench_cpu_ms_per_tx": round(1000 * cpu / max(processed, 1), 3),
    }


def pgbench_phase(stack: Stack, store_id: int, args: argparse.Namespace) -> dict:
    results = {}
    for mode in ("serializable", "as-service"):
        script = pgbench_script(store_id, args.variants, mode)
        result = run_pgbench(
            stack.app_dsn, stack.database, script, args.pgbench_clients, args.pgbench_seconds
        )
        result["script"] = script
        results[mode] = result
        print(
            f"  pgbench {mode}: {result['tps']} TPS, retried {result['retried_transactions']}"
            f" of {result['transactions']}, failed {result['failed']},"
            f" PostgreSQL {result['postgres_cpu_ms_per_tx']} CPU ms/tx",
            flush=True,
        )
    return results


# --- main ------------------------------------------------------------------------------------


def print_report(results: dict, args: argparse.Namespace) -> None:
    spread = results["spread"]
    print(
        f"\nCheckout through Envoy (REST), {args.variants} variants, 2 per cart,"
        f" {args.seconds}s per run, {os.cpu_count()} cores"
    )
    print(
        f"{'run':24}{'orders/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'retries':>9}"
        f"{'CPU ms/order':>14}{'non-2xx':>9}"
    )
    for name, r in spread.items():
        print(
            f"{name:24}{r['orders_per_s']:>10.1f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}"
            f"{r['serialization_retries']:>9}{r['cpu_ms_per_order']:>14.2f}"
            f"{sum(r['non_2xx'].values()):>9}"
        )
    base = spread[f"{args.connections}c, 0 ms"]
    print(
        "CPU ms/order by process (0 ms, 32c): "
        + ", ".join(f"{k} {v}" for k, v in base["cpu_ms_per_order_by_process"].items())
    )
    print(
        f"{args.latency_ms} ms at {args.high_connections}c vs 0 ms at {args.connections}c:"
        f" {results['latency_tolerance_pct']}% (target >= 80%);"
        f" spread target >= 300 orders/s: {'met' if base['orders_per_s'] >= 300 else 'MISSED'}"
    )
    hot = results["hot_sku"]
    print(
        f"hot SKU (stock {hot['stock']}, {hot['buyers']} buyers): {hot['orders']} orders"
        f" ({'exactly the stock' if hot['exactly_stock_sold'] else 'NOT the stock'}),"
        f" sold out in {hot['sell_out_ms']} ms, all answered in {hot['all_answered_ms']} ms,"
        f" 400: {hot['status_400']}, 409: {hot['status_409']},"
        f" serialization retries {hot['serialization_retries']}"
    )
    print(
        "idle cores by process (background in every figure): "
        + ", ".join(f"{k} {v}" for k, v in results["idle_cores_by_process"].items())
    )
    for mode, r in results["pgbench"].items():
        print(
            f"pgbench {mode} ({args.pgbench_clients} clients): {r['tps']} TPS,"
            f" {r['retried_transactions']} retried / {r['transactions']},"
            f" checkout/pgbench = {results['ratio'][mode]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=20, help="per measured spread run")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--variants", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--high-connections", type=int, default=256)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument(
        "--max-rate", type=int, default=800, help="carts provisioned per second of a run"
    )
    parser.add_argument("--hot-stock", type=int, default=50)
    parser.add_argument("--hot-buyers", type=int, default=200)
    parser.add_argument("--pgbench-clients", type=int, default=8)
    parser.add_argument("--pgbench-seconds", type=int, default=15)
    parser.add_argument("--envoy-concurrency", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    ensure_tools()
    admin_dsn = ensure_postgres(STATE_DIR)
    ensure_pgbench(admin_dsn)
    redis_url = ensure_redis(STATE_DIR / "redis")

    database = f"shop_bench_ck_{uuid.uuid4().hex[:6]}"
    admin_db = with_database(admin_dsn, database)
    vhost = f"bench_ck_{uuid.uuid4().hex[:6]}"
    amqp = ensure_rabbitmq()
    amqp_url = with_vhost(amqp, vhost) if create_vhost(vhost) else amqp
    sink = start_mail_sink()
    stack = Stack(
        pg_admin_dsn=admin_dsn,
        redis_url=redis_url,
        database=database,
        amqp_url=amqp_url,
        smtp_port=sink.port,
        envoy_concurrency=args.envoy_concurrency,
        log_level="WARNING",
        run_dir=STATE_DIR / "bench-checkout",
    )
    carts: Carts | None = None
    results: dict = {"loadavg_1m_before": round(os.getloadavg()[0], 2)}
    try:
        stack.start()
        with httpx.Client(base_url=stack.edge_url, timeout=10) as http:
            store = signup(http)
        asyncio.run(set_plan(admin_db, UNLIMITED_PLAN, store_id=store.id))
        wait_rate_limit(stack.edge_url, store.host, PLANS[UNLIMITED_PLAN].burst)
        print(f"seeding {args.variants} variants (COPY as admin) ...", flush=True)
        seconds = asyncio.run(seed_variants(admin_db, store.id, args.variants))
        results["seed_variants_s"] = round(seconds, 2)
        carts = Carts(redis_url, store.id)
        redis_port = httpx.URL(redis_url).port or 6379
        bench = Bench(args, stack, admin_db, store, carts, CpuAccount(stack, redis_port))

        results["idle_cores_by_process"] = bench.idle(5)
        print("spread ...", flush=True)
        results["warmup_cold_stats"] = bench.spread("warm-up", args.connections, 0, args.warmup)
        # The checkout tables were created empty and have no statistics yet; until autovacuum
        # analyzes them (a minute or more), the planner under RLS may read a checkout by id
        # through the (store_id, idempotency_key) index, scanning the store's every checkout
        # and taking SIREAD locks on all of them: nearly every SERIALIZABLE reservation then
        # fails and retries. Measure the steady state a running platform is in.
        scalar(admin_db, "ANALYZE")
        low, high, ms = args.connections, args.high_connections, args.latency_ms
        spread = {
            f"{low}c, 0 ms": bench.spread(f"{low}c, 0 ms", low, 0, args.seconds),
            f"{low}c, {ms} ms": bench.spread(f"{low}c, {ms} ms", low, ms, args.seconds),
            f"{high}c, {ms} ms": bench.spread(f"{high}c, {ms} ms", high, ms, args.seconds),
        }
        results["spread"] = spread
        base = spread[f"{low}c, 0 ms"]["orders_per_s"]
        results["latency_tolerance_pct"] = round(
            100 * spread[f"{high}c, {ms} ms"]["orders_per_s"] / base, 1
        )
        print("hot SKU ...", flush=True)
        results["hot_sku"] = bench.hot_sku()

        # The database alone: the services are stopped so only PostgreSQL and pgbench run.
        stack.stop()
        print("pgbench ...", flush=True)
        results["pgbench"] = pgbench_phase(stack, store.id, args)
        results["ratio"] = {
            mode: round(base / r["tps"], 3) for mode, r in results["pgbench"].items()
        }
    finally:
        stack.stop()
        if carts is not None:
            carts.delete_all()
        drop_database(admin_dsn, database)
        delete_vhost(vhost)
        sink.stop()

    print_report(results, args)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"checkout-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": "checkout",
                "at": stamp,
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "settings": vars(args),
                "results": results,
            },
            indent=2,
        )
    )
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
