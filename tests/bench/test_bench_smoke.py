"""Every benchmark still runs: each one, in its tiny mode (--smoke), as `make bench` would start
it, must finish and write its JSON with the figures it reports. A benchmark that breaks (a
moved service name, SQL that no longer fits the schema) fails here, not months later.

They run one after another: each starts a platform of its own, and PostgreSQL's connection
slots would not hold several at once next to the rest of the suite."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.stack import ROOT

TIMEOUT = 240
BENCH = ROOT / "bench"


def run_smoke(module: str, results: Path) -> dict:
    env = {**os.environ, "BENCH_RESULTS_DIR": str(results), "BENCH_SMOKE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", module, "--smoke"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    output = (proc.stdout + proc.stderr)[-4000:]
    assert proc.returncode == 0, f"python -m {module} --smoke failed:\n{output}"
    written = list(results.glob("*.json"))
    assert len(written) == 1, f"{module} wrote {written}:\n{output}"
    # Its chart (bench/charts.py), under the stable name the README links.
    assert [p.suffix for p in results.glob("*.png")] == [".png"], output
    document = json.loads(written[0].read_text())
    assert document["settings"]["smoke"] is True
    assert {"benchmark", "at", "machine", "settings"} <= document.keys()
    return document


def test_bench_uses_only_public_names() -> None:
    """No `_private` name of a service module (or of another bench module): those move
    without notice, and the benchmark that reached for one breaks unseen."""
    reached = []
    for path in sorted(BENCH.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        modules = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                ("services", "bench")
            ):
                for alias in node.names:
                    if alias.name.startswith("_"):
                        reached.append(f"{path.relative_to(ROOT)}: {node.module}.{alias.name}")
                    modules.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                modules |= {a.asname or a.name.split(".")[0] for a in node.names}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
            ):
                reached.append(
                    f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.id}.{node.attr}"
                )
    assert not reached, reached


def load_keys(load: dict) -> None:
    assert {"rps", "p50_ms", "p99_ms", "errors"} <= load.keys(), load
    assert load["rps"] > 0 and load["errors"] == 0, load


@pytest.mark.timeout(TIMEOUT + 30)
def test_storefront(tmp_path: Path) -> None:
    document = run_smoke("bench.storefront", tmp_path)
    results = document["results"]
    assert results.keys() == {"rest", "rest_cached", "grpc"}
    for name, row in results.items():
        load_keys(row)
        assert row["requests"] > 0
        assert row["envoy_cpu_ms_per_req"] > 0, row
        if name != "rest_cached":  # cached reads mostly never reach the Catalog
            assert row["catalog_cpu_ms_per_req"] > 0, row
    edge_cache = document["edge_cache"]
    assert edge_cache["cached_over_uncached_rps"] > 0, edge_cache


@pytest.mark.timeout(TIMEOUT + 30)
def test_edge_scale(tmp_path: Path) -> None:
    document = run_smoke("bench.edge_scale", tmp_path)
    phases = document["phases"]
    settings = document["settings"]
    assert [(p["stores"], p["mode"]) for p in phases] == [
        (n, m) for n in settings["stores"] for m in settings["modes"]
    ]
    for phase in phases:
        assert phase["envoy_rss_mb"] > 0 and phase["control_plane_rss_mb"] > 0, phase
        assert phase["active_hosts"] > 0
        for change in ("domain_added_live", "domain_removed_gone", "first_request_cold"):
            assert phase[change].keys() == {"p50_ms", "p99_ms", "max_ms"}
        load_keys(phase["storefront_steady"])
        load_keys(phase["storefront_during_changes"])
        assert phase["storefront_during_changes"]["route_changes"] > 0


@pytest.mark.timeout(TIMEOUT + 30)
def test_events(tmp_path: Path) -> None:
    document = run_smoke("bench.events", tmp_path)
    steady, backlog = document["results"]["steady"], document["results"]["backlog"]
    settings = document["settings"]
    assert steady["events"] == int(settings["rate"] * settings["seconds"]) > 0
    assert {"p50_ms", "p99_ms", "max_ms"} <= steady.keys()
    assert backlog["events"] == settings["backlog"]
    assert backlog["relay_publish_events_per_s"] > 0 and backlog["end_to_end_events_per_s"] > 0


@pytest.mark.timeout(TIMEOUT + 30)
def test_catalog_scale(tmp_path: Path) -> None:
    document = run_smoke("bench.catalog_scale", tmp_path)
    phases = document["phases"]
    assert [p["stores"] for p in phases] == document["settings"]["stores"]
    for phase in phases:
        assert phase["seed_catalog"]["variants"] == phase["stores"] * 12 * 2, phase
        assert phase["load"].keys() == {"list", "search", "get"}
        for load in phase["load"].values():
            load_keys(load)
    for ratios in document["comparison"].values():
        assert ratios.keys() == {"rps_ratio", "p50_ratio", "p99_ratio"}


@pytest.mark.timeout(TIMEOUT + 30)
def test_catalog_one_store(tmp_path: Path) -> None:
    document = run_smoke("bench.catalog_scale.one_store", tmp_path)
    phases = document["phases"]
    assert [p["products"] for p in phases] == document["settings"]["products"]
    for phase in phases:
        assert phase["create_automated_collection_s"] >= 0
        assert phase["sql_search"].keys() == {"specific", "broad"}
        for name, load in phase["load"].items():
            assert name.rsplit("@", 1)[0] in document["requests"]
            load_keys(load)
    for ratios in document["comparison"].values():
        assert ratios.keys() == {"p50_ratio", "p99_ratio"}


@pytest.mark.timeout(TIMEOUT + 30)
def test_checkout(tmp_path: Path) -> None:
    results = run_smoke("bench.checkout", tmp_path)["results"]
    assert len(results["spread"]) == 3
    for name, run in results["spread"].items():
        # Orders as the database counts them: on a busy machine a tiny run's requests may all
        # still be in flight when wrk's time is up, and finish after.
        assert run["orders_in_db"] > 0 and run["orders_in_db"] >= run["orders"], (name, run)
        assert run["cpu_ms_per_order"] > 0, (name, run)
        assert set(run["cpu_ms_per_order_by_process"]) == {
            *("envoy", "store", "catalog", "checkout", "relay", "consumers", "stripe"),
            "postgres",
        }
    hot = results["hot_sku"]
    # Never more than the stock, and every unit either sold or still there. (All of it sold,
    # "exactly_stock_sold", needs every buyer answered; a tiny run on a busy machine may see
    # a 503 when PostgreSQL runs out of connection slots.)
    assert 0 < hot["orders"] <= hot["units_sold_in_db"] <= hot["stock"], hot
    assert hot["units_sold_in_db"] + hot["stock_left"] == hot["stock"], hot
    assert sum(run["orders"] for run in results["spread"].values()) > 0
    assert results["pgbench"].keys() == {"minimal", "serializable", "as-service"}
    for mode, run in results["pgbench"].items():
        assert run["transactions"] > 0 and run["tps"] > 0, (mode, run)
    assert results["ratio"].keys() == results["pgbench"].keys()
    ref = results["reference"]
    assert ref["mode"] == "minimal" and ref["tps"] == results["pgbench"]["minimal"]["tps"]
    assert ref["ratio"] == results["ratio"]["minimal"] and ref["target"] == 0.15
    # Stock for every buyer of the opposite-order carts: no one refused, stock exact.
    opp = results["opposite_carts"]
    assert opp["status_409"] == 0 and opp["exact_stock"], opp


@pytest.mark.timeout(TIMEOUT + 30)
def test_edge_trust(tmp_path: Path) -> None:
    document = run_smoke("bench.edge_trust", tmp_path)
    results = document["results"]
    assert results.keys() == {"plaintext_trust_all", "mtls_edge_identity"}
    for row in results.values():
        assert row["calls"] > 0 and row["server_cpu_us_per_call"] > 0, row
    assert document["comparison"].keys() == {"calls_per_s_ratio", "cpu_per_call_ratio"}
