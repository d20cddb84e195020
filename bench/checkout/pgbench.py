"""Phase 3: the database alone, with the services stopped: pgbench runs each reference script
(bench.checkout.reference_sql) at 8 clients, as shop_app, spread over the same variants."""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from pathlib import Path

from bench.checkout.reference_sql import MODES, pgbench_script
from bench.cpu import CpuMeter, children_cpu, database_backends, spent_between
from devstack.stack import Stack


def run_pgbench(app_dsn: str, database: str, script: str, clients: int, seconds: int) -> dict:
    """pgbench's figures, plus the CPU of its backends: they exit with pgbench, so they are
    sampled while it runs (from 1 s in to 0.5 s before the end) and scaled by the TPS."""
    backends = CpuMeter(database_backends(database))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "checkout.sql"
        path.write_text(script)
        before = children_cpu()
        proc = subprocess.Popen(
            [
                *("pgbench", "-n"),  # -n: no vacuum of pgbench's own tables (there are none)
                *("-M", "prepared", "-c", str(clients), "-j", "2", "-T", str(seconds)),
                *("--max-tries", "20", "-f", str(path), app_dsn),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        time.sleep(1)
        first, first_at = backends.sample(), time.monotonic()
        time.sleep(max(seconds - 1.5, 0.5))
        last, last_at = backends.sample(), time.monotonic()
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
    postgres = spent_between(first, last)["postgres"]
    window_tx = max(rate * (last_at - first_at), 1e-9)
    return {
        "tps": round(rate, 1),
        "transactions": processed,
        "retried_transactions": number(r"number of transactions retried: (\d+)"),
        "total_retries": number(r"total number of retries: (\d+)"),
        "failed": number(r"number of failed transactions: (\d+)"),
        "latency_avg_ms": float(latency.group(1)) if latency else None,
        "postgres_cpu_ms_per_tx": round(1000 * postgres / window_tx, 3),
        "pgbench_cpu_ms_per_tx": round(1000 * cpu / max(processed, 1), 3),
    }


def pgbench_phase(stack: Stack, store_id: int, args) -> dict:
    results = {}
    for mode in MODES:
        script = pgbench_script(store_id, args.variants, mode)
        result = run_pgbench(
            stack.app_dsn, stack.database, script, args.pgbench_clients, args.pgbench_seconds
        )
        if result["transactions"] == 0:
            raise RuntimeError(f"pgbench {mode}: no transaction committed\n{script}")
        results[mode] = {**result, "script": script}
        print(
            f"  pgbench {mode}: {result['tps']} TPS, retried {result['retried_transactions']}"
            f" of {result['transactions']}, failed {result['failed']},"
            f" PostgreSQL {result['postgres_cpu_ms_per_tx']} CPU ms/tx",
            flush=True,
        )
    return results
