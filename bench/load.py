"""Load generators (C, so they leave the cores to what is measured): wrk for HTTP/1.1,
h2load for gRPC, pgbench for the database alone; Debian packages, installed when missing."""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEBIAN_PACKAGES = {"wrk": "wrk", "h2load": "nghttp2-client"}


def ensure_tools(*tools: str, pg_major: int | None = None) -> None:
    """Installs the missing ones with apt-get (as root), or says what to install. pgbench
    ships with the PostgreSQL client package of the server's major version (`pg_major`)."""
    packages = {**DEBIAN_PACKAGES, "pgbench": f"postgresql-client-{pg_major}"}
    missing = [packages[tool] for tool in tools or DEBIAN_PACKAGES if shutil.which(tool) is None]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SystemExit(f"this benchmark needs: apt-get install {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def row(self) -> dict:
        """Rounded, for a report."""
        return {
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "errors": self.errors,
        }


_WRK_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(
    url: str,
    host: str,
    *,
    connections: int,
    seconds: int,
    threads: int = 2,
    script: Path | None = None,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """`script`: a wrk Lua script (e.g. one whose request() rotates Host and path);
    `headers`: sent with every request besides Host."""
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            *(["-s", str(script)] if script else []),
            "-H",
            f"Host: {host}",
            *(arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    latency = {int(p): float(v) * _UNIT_MS[u] for p, v, u in _WRK_LATENCY.findall(out)}
    requests = int(re.search(r"(\d+) requests in ([\d.]+)(\w+)", out).group(1))
    errors = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), "
        r"timeout (\d+)",
        out,
    )
    if socket_errors:
        errors += sum(int(x) for x in socket_errors.groups())
    return LoadResult(requests, errors, float(seconds), latency[50], latency[99])


def h2load_grpc(
    url: str, authority: str, body: bytes, *, connections: int, seconds: int, threads: int = 2
) -> LoadResult:
    """gRPC unary calls over HTTP/2; one stream per connection at a time, like wrk."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "request.bin"
        data.write_bytes(b"\x00" + len(body).to_bytes(4, "big") + body)  # gRPC frame
        log = Path(tmp) / "requests.log"
        out = subprocess.run(
            [
                "h2load",
                "-c",
                str(connections),
                "-m",
                "1",
                "-t",
                str(threads),
                "-D",
                str(seconds),
                "-d",
                str(data),
                "--log-file",
                str(log),
                "-H",
                f":authority: {authority}",
                "-H",
                "content-type: application/grpc",
                "-H",
                "te: trailers",
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        # Each line: start time (µs since epoch), HTTP status, request duration (µs).
        durations, errors = [], 0
        for line in log.read_text().splitlines():
            _start, status, micros = line.split("\t")
            durations.append(int(micros) / 1000)
            errors += status != "200"
    failed = re.search(r"(\d+) failed, (\d+) errored", out)
    if failed:
        errors += int(failed.group(1)) + int(failed.group(2))
    quantiles = statistics.quantiles(durations, n=100)
    return LoadResult(len(durations), errors, float(seconds), quantiles[49], quantiles[98])
