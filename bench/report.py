"""What a benchmark hands back: a table of its figures on stdout, ratios against a reference
measured in the same run (the only comparison that holds on a shared machine), and one JSON
file in bench/results/ (or $BENCH_RESULTS_DIR) with the settings it ran with."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_RESULTS = Path(__file__).resolve().parent / "results"


def results_dir() -> Path:
    return Path(os.environ.get("BENCH_RESULTS_DIR") or DEFAULT_RESULTS)


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Mapping[str, Any]], Any]
    spec: str  # format spec with width, e.g. ">10.1f"

    @property
    def width(self) -> int:
        digits = "".join(c for c in self.spec.split(".")[0] if c.isdigit())
        return int(digits or 0)


def key(*path: str) -> Callable[[Mapping[str, Any]], Any]:
    """The value at row[path[0]][path[1]]..."""

    def get(row: Mapping[str, Any]) -> Any:
        value: Any = row
        for part in path:
            value = value[part]
        return value

    return get


def print_table(title: str, columns: list[Column], rows: Iterable[Mapping[str, Any]]) -> None:
    print(f"\n{title}")
    align = [("<" if c.spec.startswith("<") else ">") for c in columns]
    print("".join(f"{c.header:{a}{c.width}}" for c, a in zip(columns, align, strict=True)))
    for row in rows:
        print("".join(f"{c.value(row):{c.spec}}" for c in columns))


def ratio(measured: float, reference: float) -> float | None:
    return round(measured / reference, 3) if reference else None


def ratios(
    measured: Mapping[str, Any], reference: Mapping[str, Any], keys: Mapping[str, str]
) -> dict[str, float | None]:
    """{name: measured[key] / reference[key]} for each name → key."""
    return {name: ratio(measured[k], reference[k]) for name, k in keys.items()}


def write(stem: str, benchmark: str, settings: Any, **body: Any) -> Path:
    """bench/results/<stem>-<UTC stamp>.json: benchmark, at, machine, settings, then body."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{stem}-{stamp}.json"
    document = {
        "benchmark": benchmark,
        "at": stamp,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "settings": settings if isinstance(settings, dict) else vars(settings),
        **body,
    }
    out.write_text(json.dumps(document, indent=2))
    # The chart of the last run, under a stable name (bench/results/<stem>.png, linked from
    # the README): imported here so a benchmark that fails to start needs no matplotlib.
    from bench.charts import render

    chart = render(document, folder / f"{stem}.png")
    for path in (out, chart):
        shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
        print(f"\nwritten {shown}")
    return out
