"""One PNG chart per benchmark, drawn from the JSON document it writes (bench.report.write
calls `render`): the figures a person compares, side by side.

- checkout: orders/s of each spread run, and CPU ms per order of the 32c 0 ms run, one bar
  segment per process; the reference's ratio in the title.
- storefront: req/s uncached vs from the edge cache vs gRPC, and CPU ms per request in Envoy
  and the Catalog.
- any other benchmark: every run-like row in its results (a dict of numbers) with req/s (or
  orders/s, TPS) and p99, one bar each.

matplotlib with the Agg backend (no display); the title names the machine (cores) and when."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

RATES = ("orders_per_s", "rps", "tps", "req_per_s")
# Processes whose CPU a checkout's order costs, in the order bench.checkout reports them.
CPU_COLOURS = plt.get_cmap("tab10").colors


def _title(document: dict[str, Any], what: str) -> str:
    cores = document.get("machine", {}).get("cpus")
    return f"{what} — {cores} cores, run {document.get('at', '')}"


def _checkout(document: dict[str, Any], out: Path) -> None:
    results = document["results"]
    spread = results.get("spread", {})
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    names = list(spread)
    left.bar(names, [spread[n]["orders_per_s"] for n in names], color="#4c72b0")
    ref = results.get("reference", {})
    if ref.get("tps"):
        left.set_title(
            f"orders/s; reference (minimal order tx, pgbench) {ref['tps']} TPS,"
            f" ratio {ref.get('ratio')}",
            fontsize=9,
        )
    left.set_ylabel("orders/s")
    left.tick_params(axis="x", labelsize=8)
    base = spread[names[0]] if names else {}
    by_process = base.get("cpu_ms_per_order_by_process", {})
    bottom = 0.0
    for i, (process, ms) in enumerate(by_process.items()):
        right.bar(
            [names[0] if names else ""],
            [ms],
            bottom=bottom,
            label=f"{process} {ms}",
            color=CPU_COLOURS[i % len(CPU_COLOURS)],
        )
        bottom += ms
    right.set_ylabel("CPU ms per order")
    right.set_title(f"CPU per order by process: {base.get('cpu_ms_per_order')} ms", fontsize=9)
    right.legend(fontsize=8, loc="upper right")
    fig.suptitle(_title(document, "bench.checkout"), fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def _storefront(document: dict[str, Any], out: Path) -> None:
    rows = document["results"]
    names = list(rows)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    left.bar(names, [rows[n]["rps"] for n in names], color="#55a868")
    left.set_yscale("log")
    left.set_ylabel("req/s (log)")
    cache = document.get("edge_cache", {})
    left.set_title(
        "req/s; cached/uncached = "
        f"{cache.get('cached_over_uncached_rps')}, cached p99 {cache.get('cached_p99_ms')} ms",
        fontsize=9,
    )
    width = 0.38
    xs = range(len(names))
    for offset, (key, label) in enumerate(
        (("envoy_cpu_ms_per_req", "Envoy"), ("catalog_cpu_ms_per_req", "Catalog"))
    ):
        right.bar(
            [x + offset * width for x in xs],
            [rows[n].get(key, 0) for n in names],
            width,
            label=label,
        )
    right.set_xticks([x + width / 2 for x in xs], names)
    right.set_ylabel("CPU ms per request")
    right.legend(fontsize=8)
    fig.suptitle(_title(document, document.get("benchmark", "bench.storefront")), fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def _rows(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every dict below `node` that holds a rate: (where it is, the dict)."""
    if isinstance(node, dict):
        if any(isinstance(node.get(k), int | float) for k in RATES):
            yield path or "run", node
        for key, value in node.items():
            yield from _rows(value, f"{path}/{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _rows(value, f"{path}[{i}]")


def _generic(document: dict[str, Any], out: Path) -> None:
    body = {
        k: v for k, v in document.items() if k not in ("benchmark", "at", "machine", "settings")
    }
    rows = list(_rows(body))[:24]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    names = [name for name, _ in rows]
    rate = [
        next((row[k] for k in RATES if isinstance(row.get(k), int | float)), 0) for _, row in rows
    ]
    left.barh(names, rate, color="#4c72b0")
    left.set_xlabel("rate (" + " / ".join(RATES) + ")")
    right.barh(names, [row.get("p99_ms") or 0 for _, row in rows], color="#c44e52")
    right.set_xlabel("p99 ms")
    for axis in (left, right):
        axis.tick_params(axis="y", labelsize=7)
    fig.suptitle(_title(document, document.get("benchmark", "bench")), fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def render(document: dict[str, Any], out: Path) -> Path:
    """Draws `document` (a bench JSON document) to `out` (PNG)."""
    benchmark = str(document.get("benchmark", ""))
    if benchmark == "checkout":
        _checkout(document, out)
    elif benchmark.startswith("storefront"):
        _storefront(document, out)
    else:
        _generic(document, out)
    return out


def main() -> None:
    """python -m bench.charts FILE.json…: draws each next to it (same stem, .png)."""
    import json
    import sys

    for name in sys.argv[1:]:
        path = Path(name)
        print(render(json.loads(path.read_text()), path.with_suffix(".png")))


if __name__ == "__main__":
    main()
