"""Storefront list / search / get-by-handle through Envoy with 1,000 vs 100,000 stores, every
store with the same catalog size (12 products x 2 variants: 2.4 million variants at 100k).

Does a shopper's request get slower because other tenants have data? Each store count gets
its own database and stack; REST calls (wrk) go to a random sample of 1,000 of its stores,
rotating requests: four list variants (sorts, price range, availability), seven searches (one a
typo that takes the similar-title fallback) and twelve handles. The stacks stay up side by side
and take turns for several rounds, so whatever else runs on the machine weighs on both alike;
the report gives the median of the rounds' req/s, p50 and p99 per endpoint, and large/small.

Seeding bypasses the API, as the admin (superuser) role (bench.seeding): stores with
generate_series, then products and variants with COPY, with session_replication_role =
replica (no per-row triggers or FK checks), so the per-product price range and availability
that the variants trigger would maintain are computed there; then VACUUM ANALYZE. It runs
before the services start, so the control plane loads every store in its start-up resync.
Every store is on the unlimited plan, so the per-store rate limit does not cap the run.
Run with `make bench` (or `python -m bench.catalog_scale --stores 1000`)."""

from __future__ import annotations

import json
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bench import cli, report
from bench.catalog_scale.catalog import ENDPOINTS, PRODUCTS_PER_STORE, SIZES, lua_script
from bench.catalog_scale.phase import Phase, prepare
from bench.load import ensure_tools
from bench.stacks import setup

OPTIONS = [
    cli.Option("--stores", int, [1000, 100_000], [50, 500], many=True),
    cli.Option("--seconds", int, 10, 1),
    cli.Option("--warmup", int, 2, 1),
    cli.Option("--rounds", int, 3, 1),
    cli.Option("--connections", int, 32, 4),
    cli.Option("--sample", int, 1000, 50, help="stores the load is spread over"),
    cli.Option("--envoy-concurrency", int, 1),
]


def take_turns(phases: list[Phase], args) -> None:
    """Every stack stays up and the phases take turns, round after round: load from
    elsewhere on the machine then falls on every store count alike."""
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(1, args.rounds + 1):
            for phase in phases:
                for name, paths in ENDPOINTS.items():
                    script = lua_script(Path(tmp), f"{phase.stores}-{name}", phase.hosts, paths)
                    r = phase.measure(name, script, args)
                    print(
                        f"  round {round_}, {phase.stores} stores, {name}: {r.rps:.0f} req/s,"
                        f" p50 {r.p50_ms:.2f} ms, p99 {r.p99_ms:.2f} ms, {r.errors} errors",
                        flush=True,
                    )


def seed_s(phase: dict) -> float:
    seed = phase["seed_catalog"]
    return phase["seed_stores_s"] + seed["copy_s"] + seed["vacuum_s"]


def print_results(results: list[dict], args) -> None:
    rows = [{**p, "endpoint": name, **r} for p in results for name, r in p["load"].items()]
    report.print_table(
        f"Storefront through Envoy (REST, wrk), {args.connections} connections, {args.seconds}s"
        f" per endpoint and round, medians of {args.rounds} rounds, load spread over"
        f" {args.sample} random stores",
        [
            report.Column("stores", report.key("stores"), ">8"),
            report.Column("variants", report.key("seed_catalog", "variants"), ">10"),
            report.Column("seed s", seed_s, ">8.0f"),
            report.Column("  endpoint", lambda p: f"  {p['endpoint']:8}", "<10"),
            report.Column("req/s", report.key("rps"), ">9.0f"),
            report.Column("p50 ms", report.key("p50_ms"), ">9.2f"),
            report.Column("p99 ms", report.key("p99_ms"), ">9.2f"),
        ],
        rows,
    )


def main() -> None:
    args = cli.parse(__doc__, OPTIONS)
    setup()
    ensure_tools("wrk")
    with ExitStack() as cleanup:
        phases = [prepare(cleanup, count, args) for count in args.stores]
        take_turns(phases, args)
    results = [p.results() for p in phases]
    print_results(results, args)
    comparison = {}
    if len(results) > 1:
        small, large = results[0]["load"], results[-1]["load"]
        keys = {"rps_ratio": "rps", "p50_ratio": "p50_ms", "p99_ratio": "p99_ms"}
        comparison = {name: report.ratios(large[name], small[name], keys) for name in ENDPOINTS}
        print(f"\nlarge/small: {json.dumps(comparison)}")
    report.write(
        "catalog-scale",
        "catalog_scale",
        args,
        catalog={"products_per_store": PRODUCTS_PER_STORE, "variants_per_product": len(SIZES)},
        requests={name: list(paths) for name, paths in ENDPOINTS.items()},
        phases=results,
        comparison=comparison,
    )


if __name__ == "__main__":
    main()
