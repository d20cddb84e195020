"""The spread run's load: wrk (C) with a Lua script reading cart ids and Idempotency-Keys from
a pre-generated file, one POST /v1/carts/{id}/checkout per cart, counting statuses."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.checkout.shopping import CHECKOUT_BODY
from bench.cpu import children_cpu

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
    edge_url: str,
    host: str,
    carts: list[str],
    keys: list[str],
    connections: int,
    seconds: int,
    body: dict | None = None,
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
                "body": json.dumps(body or CHECKOUT_BODY),
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
