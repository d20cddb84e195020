"""Storefront accounts through Envoy over REST (wrk): SignIn (one argon2id verification, a
Redis session) and GetMe (a Redis session lookup that slides its expiry, one customer read).

Prints req/s, p50, p99 and the CPU time per request spent in Envoy and in the Checkout service,
and the CPU time of one argon2id hash with the configured parameters measured in this process
(ARGON2_* variables; services.checkout.customers.settings). Writes JSON to bench/results/.

Customers are seeded with SQL as the admin role (their password hash made with the service's
own hasher), so no activation emails are needed. The failure throttle is lifted for the run
(ACCOUNT_THROTTLE_LIMIT): every request comes from one client address, and ten sign-ins in
flight at once would otherwise count as ten attempts. Run with `make bench`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

from bench.seeding import UNLIMITED_PLAN, set_plan, wait_rate_limit
from bench.tools import CpuMeter, LoadResult, ensure_tools, wrk
from devstack.dsn import with_database
from devstack.infra import ensure_postgres, ensure_redis
from devstack.migrate import drop_database
from devstack.stack import STATE_DIR, Stack
from services.checkout.customers.passwords import PasswordHasher
from services.checkout.customers.settings import Argon2Settings
from services.store.edge.rate_limits import PLANS

RESULTS = Path(__file__).resolve().parent / "results"
PASSWORD = "bench-plum-otter-91"
CUSTOMERS = 200
SESSIONS = 50


def argon2_cpu_ms(settings: Argon2Settings, rounds: int = 20) -> float:
    """CPU milliseconds of one verification with these parameters (one thread)."""

    async def measure() -> float:
        hasher = PasswordHasher(settings)
        stored = await hasher.hash(PASSWORD)
        started = time.process_time()
        for _ in range(rounds):
            assert await hasher.verify(stored, PASSWORD)
        hasher.close()
        return (time.process_time() - started) * 1000 / rounds

    return asyncio.run(measure())


def signup(edge_url: str) -> tuple[int, str]:
    subdomain = f"bench-acct-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=edge_url, timeout=10) as http:
        r = http.post(
            "/v1/stores",
            headers={"host": "api.myshop.localhost"},
            json={
                "name": "Bench accounts",
                "subdomain": subdomain,
                "owner_email": "bench@example.com",
                "currency": "USD",
            },
        )
        r.raise_for_status()
        store = r.json()["store"]
        host = store["primary_domain"]
        while http.get("/v1/products", headers={"host": host}).status_code == 404:
            time.sleep(0.05)
    return int(store["id"]), store["primary_domain"]


async def seed_customers(admin_db: str, store_id: int, settings: Argon2Settings) -> list[str]:
    hasher = PasswordHasher(settings)
    hashed = await hasher.hash(PASSWORD)
    hasher.close()
    emails = [f"bench-{i}@example.com" for i in range(CUSTOMERS)]
    conn = await asyncpg.connect(admin_db)
    try:
        await conn.executemany(
            """INSERT INTO customers (store_id, id, email, name, password_hash,
                                      password_changed_at, created_at, updated_at)
               VALUES ($1, $2, $3, 'Bench', $4, now(), now(), now())""",
            [(store_id, uuid.uuid4(), e, hashed) for e in emails],
        )
    finally:
        await conn.close()
    return emails


def sessions(edge_url: str, host: str, emails: list[str]) -> list[str]:
    with httpx.Client(base_url=edge_url, timeout=30) as http:
        tokens = []
        for email in emails[:SESSIONS]:
            r = http.post(
                "/v1/account:signIn",
                headers={"host": host},
                json={"email": email, "password": PASSWORD},
            )
            r.raise_for_status()
            tokens.append(r.json()["session_token"])
        check = http.get("/v1/account", headers={"host": host, "x-shopper-session": tokens[0]})
        assert check.status_code == 200 and check.json()["email"] == emails[0], check.text
    return tokens


def _lua_list(values: list[str]) -> str:
    return "{" + ",".join(json.dumps(v) for v in values) + "}"


def sign_in_script(folder: Path, host: str, emails: list[str]) -> Path:
    script = folder / "sign_in.lua"
    script.write_text(
        f"""
local emails = {_lua_list(emails)}
local i = 0
request = function()
  i = i + 1
  local body = '{{"email":"' .. emails[(i % #emails) + 1] .. '","password":"{PASSWORD}"}}'
  return wrk.format("POST", "/v1/account:signIn",
                    {{["Host"] = "{host}", ["Content-Type"] = "application/json"}}, body)
end
"""
    )
    return script


def get_me_script(folder: Path, host: str, tokens: list[str]) -> Path:
    script = folder / "get_me.lua"
    script.write_text(
        f"""
local tokens = {_lua_list(tokens)}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/v1/account",
                    {{["Host"] = "{host}", ["x-shopper-session"] = tokens[(i % #tokens) + 1]}})
end
"""
    )
    return script


def measure(stack: Stack, run) -> tuple[LoadResult, dict[str, float]]:
    meters = {name: CpuMeter(stack.procs[name].pid) for name in ("envoy", "checkout")}
    for m in meters.values():
        m.start()
    result = run()
    cpu = {name: m.stop() for name, m in meters.items()}
    return result, {
        f"{name}_cpu_ms_per_req": 1000 * s / max(result.requests, 1) for name, s in cpu.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--sign-in-connections", type=int, default=8)
    parser.add_argument("--get-me-connections", type=int, default=32)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    ensure_tools()
    argon2 = Argon2Settings.from_env()
    hash_ms = argon2_cpu_ms(argon2)

    admin_dsn = ensure_postgres(STATE_DIR)
    database = f"shop_bench_{uuid.uuid4().hex[:6]}"
    stack = Stack(
        pg_admin_dsn=admin_dsn,
        redis_url=ensure_redis(STATE_DIR / "redis"),
        database=database,
        envoy_concurrency=1,
        log_level="WARNING",
        run_dir=STATE_DIR / "bench",
        extra_env={"ACCOUNT_THROTTLE_LIMIT": "100000000"},
    )
    rows: dict[str, dict] = {}
    try:
        stack.start()
        store_id, host = signup(stack.edge_url)
        admin_db = with_database(admin_dsn, database)
        asyncio.run(set_plan(admin_db, UNLIMITED_PLAN, store_id=store_id))
        wait_rate_limit(stack.edge_url, host, PLANS[UNLIMITED_PLAN].burst)
        emails = asyncio.run(seed_customers(admin_db, store_id, argon2))
        tokens = sessions(stack.edge_url, host, emails)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            runs = {
                "sign_in": (
                    f"{stack.edge_url}/v1/account:signIn",
                    sign_in_script(folder, host, emails),
                    args.sign_in_connections,
                ),
                "get_me": (
                    f"{stack.edge_url}/v1/account",
                    get_me_script(folder, host, tokens),
                    args.get_me_connections,
                ),
            }
            for name, (url, script, connections) in runs.items():
                wrk(url, host, connections=connections, seconds=2, script=script)  # warm-up
                result, cpu = measure(
                    stack,
                    lambda url=url, script=script, connections=connections: wrk(
                        url, host, connections=connections, seconds=args.seconds, script=script
                    ),
                )
                rows[name] = {
                    "connections": connections,
                    "rps": round(result.rps, 1),
                    "p50_ms": round(result.p50_ms, 2),
                    "p99_ms": round(result.p99_ms, 2),
                    "requests": result.requests,
                    "errors": result.errors,
                    **{k: round(v, 3) for k, v in cpu.items()},
                }
    finally:
        stack.stop()
        drop_database(admin_dsn, database)

    print(
        f"\nargon2id t={argon2.time_cost} m={argon2.memory_kib} KiB p={argon2.parallelism},"
        f" {argon2.workers} hashing threads: {hash_ms:.1f} ms CPU per hash (this process)"
    )
    print(f"Accounts through Envoy, {args.seconds}s each, load {os.getloadavg()[0]:.1f}")
    print(
        f"{'':8}{'conns':>6}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'envoy CPU ms/req':>18}{'checkout CPU ms/req':>21}"
    )
    for name, r in rows.items():
        print(
            f"{name:8}{r['connections']:>6}{r['rps']:>9.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
            f"{r['errors']:>8}{r['envoy_cpu_ms_per_req']:>18.3f}"
            f"{r['checkout_cpu_ms_per_req']:>21.3f}"
        )
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"accounts-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": "accounts.SignIn+GetMe",
                "at": stamp,
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "load_1m": os.getloadavg()[0],
                },
                "argon2": {**argon2.__dict__, "cpu_ms_per_hash": round(hash_ms, 2)},
                "settings": vars(args),
                "results": rows,
            },
            indent=2,
        )
    )
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
