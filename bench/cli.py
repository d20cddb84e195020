"""Command lines of the benchmarks: each option has its full default and a tiny one.

`--smoke` (or BENCH_SMOKE=1 in the environment) switches every option to its tiny default: a
handful of stores and requests, one short round, so the whole benchmark runs in seconds and
`tests/bench` can prove it still works. Options given on the command line win either way."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Option:
    flag: str
    type: type
    full: Any
    smoke: Any = None  # None: the same as `full`
    help: str = ""
    many: bool = False  # takes one or more values (nargs="+")


def smoke_requested() -> bool:
    return os.environ.get("BENCH_SMOKE", "") not in ("", "0")


def parse(doc: str | None, options: Sequence[Option], argv: Sequence[str] | None = None):
    """The parsed arguments, with `args.smoke` telling which defaults applied."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        default=smoke_requested(),
        help="tiny run (seconds): the smoke defaults below; also BENCH_SMOKE=1",
    )
    for option in options:
        smoke = option.full if option.smoke is None else option.smoke
        parser.add_argument(
            option.flag,
            type=option.type,
            nargs="+" if option.many else None,
            default=None,
            help=f"{option.help} (default {option.full}; --smoke {smoke})".lstrip(),
        )
    args = parser.parse_args(argv)
    for option in options:
        dest = option.flag.lstrip("-").replace("-", "_")
        if getattr(args, dest) is None:
            tiny = args.smoke and option.smoke is not None
            setattr(args, dest, option.smoke if tiny else option.full)
    return args
