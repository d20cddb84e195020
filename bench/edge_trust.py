"""What trusting x-store-id only from Envoy costs a service per request (issue 19).

One run, alternating rounds of the same gRPC server process under the same load: the reference
serves plaintext and trusts every caller's x-store-id (the platform before issue 19); the
measured one requires mutual TLS and checks the caller's certificate identity in the tenant
interceptor, as the services now do. A unary call with a storefront-sized reply (2 KiB) is sent
by a grpc.aio client over a few HTTP/2 connections, as Envoy does. Prints calls/s and the
server's CPU time per call for each, and their ratio; writes JSON to bench/results/. The client's
own CPU is not counted (in production the client is Envoy; bench.storefront measures it)."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
import psutil

from bench import cli, report
from bench.cpu import cpu_seconds
from devstack.infra import free_port
from devstack.pki import write_mesh
from devstack.stack import ROOT
from services.common.edge_trust import EdgeTrust
from services.common.identities import EDGE_IDENTITY
from services.common.tenancy import TenantInterceptor, require_store_id

OPTIONS = [
    cli.Option("--seconds", float, 5.0, 0.5),
    cli.Option("--rounds", int, 3, 1),
    cli.Option("--concurrency", int, 32, 4),
    cli.Option("--connections", int, 2, 1),
]
METHOD = "/bench.Tenant/Call"
REPLY = b"x" * 2048
MODES = ("plaintext_trust_all", "mtls_edge_identity")


class TrustEveryone(EdgeTrust):
    """The reference: every caller may name a store (the behaviour issue 19 removed)."""

    def is_edge(self, context: grpc.aio.ServicerContext) -> bool:
        return True


async def _call(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    require_store_id()
    return REPLY


async def serve(mode: str, port: int, mesh_dir: Path) -> None:
    trust = TrustEveryone(None) if mode == MODES[0] else EdgeTrust(EDGE_IDENTITY)
    server = grpc.aio.server(interceptors=[TenantInterceptor((), trust)])
    handler = grpc.unary_unary_rpc_method_handler(_call)
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler("bench.Tenant", {"Call": handler})]
    )
    address = f"127.0.0.1:{port}"
    if mode == MODES[0]:
        server.add_insecure_port(address)
    else:
        read = (mesh_dir / name for name in ("catalog-key.pem", "catalog.pem", "ca.pem"))
        key, chain, ca = (p.read_bytes() for p in read)
        credentials = grpc.ssl_server_credentials(
            [(key, chain)], root_certificates=ca, require_client_auth=True
        )
        server.add_secure_port(address, credentials)
    await server.start()
    await server.wait_for_termination()


def _channel(mode: str, port: int, mesh_dir: Path, index: int) -> grpc.aio.Channel:
    # A distinct option per channel keeps grpc from sharing one connection among them.
    options = [("bench.channel", index)]
    if mode == MODES[0]:
        return grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=options)
    credentials = grpc.ssl_channel_credentials(
        (mesh_dir / "ca.pem").read_bytes(),
        (mesh_dir / "edge-key.pem").read_bytes(),
        (mesh_dir / "edge.pem").read_bytes(),
    )
    return grpc.aio.secure_channel(f"127.0.0.1:{port}", credentials, options=options)


async def load(mode: str, port: int, mesh_dir: Path, args: Any, proc: psutil.Process) -> dict:
    channels = [_channel(mode, port, mesh_dir, i) for i in range(args.connections)]
    calls = [c.unary_unary(METHOD) for c in channels]
    metadata = (("x-store-id", "42"),)
    for call in calls:  # connect (and handshake) before the window opens
        await call(b"", metadata=metadata, wait_for_ready=True, timeout=10)
    done = 0
    deadline = 0.0

    async def worker(i: int) -> None:
        nonlocal done
        call = calls[i % len(calls)]
        while time.monotonic() < deadline:
            await call(b"", metadata=metadata, timeout=10)
            done += 1

    started_cpu = cpu_seconds(proc)
    started = time.monotonic()
    deadline = started + args.seconds
    await asyncio.gather(*(worker(i) for i in range(args.concurrency)))
    elapsed = time.monotonic() - started
    cpu = cpu_seconds(proc) - started_cpu
    for channel in channels:
        await channel.close()
    return {
        "calls": done,
        "calls_per_s": round(done / elapsed, 1),
        "server_cpu_us_per_call": round(1e6 * cpu / max(done, 1), 1),
    }


def _round(mode: str, mesh_dir: Path, args: Any) -> dict:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.edge_trust", "--serve", mode, str(port), str(mesh_dir)],
        cwd=ROOT,
    )
    try:
        return asyncio.run(load(mode, port, mesh_dir, args, psutil.Process(server.pid)))
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        parser = argparse.ArgumentParser()
        parser.add_argument("--serve", choices=MODES)
        parser.add_argument("port", type=int)
        parser.add_argument("mesh", type=Path)
        served = parser.parse_args()
        asyncio.run(serve(served.serve, served.port, served.mesh))
        return
    args = cli.parse(__doc__, OPTIONS)
    rounds: dict[str, list[dict]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory() as tmp:
        mesh = write_mesh(Path(tmp) / "pki")
        load_before = psutil.getloadavg()
        for _ in range(args.rounds):
            for mode in MODES:  # alternating: both see the same drift in the machine's load
                rounds[mode].append(_round(mode, mesh.directory, args))
        load_after = psutil.getloadavg()
    results = {
        mode: {
            key: statistics.median(r[key] for r in runs)
            for key in ("calls_per_s", "server_cpu_us_per_call")
        }
        | {"calls": sum(r["calls"] for r in runs), "rounds": runs}
        for mode, runs in rounds.items()
    }
    measured, reference = results[MODES[1]], results[MODES[0]]
    comparison = report.ratios(
        measured,
        reference,
        {"calls_per_s_ratio": "calls_per_s", "cpu_per_call_ratio": "server_cpu_us_per_call"},
    )
    report.print_table(
        f"One tenant call (2 KiB reply), {args.concurrency} in flight over {args.connections}"
        f" connections, {args.rounds} x {args.seconds}s per mode (medians); load average"
        f" {load_before[0]:.1f} → {load_after[0]:.1f}",
        [
            report.Column("", lambda r: r["name"], "<22"),
            report.Column("calls/s", report.key("calls_per_s"), ">10.0f"),
            report.Column("server CPU µs/call", report.key("server_cpu_us_per_call"), ">20.1f"),
        ],
        [{"name": name, **row} for name, row in results.items()],
    )
    print(
        f"mTLS + identity check vs plaintext: calls/s x{comparison['calls_per_s_ratio']},"
        f" CPU per call x{comparison['cpu_per_call_ratio']}"
    )
    report.write(
        "edge_trust",
        "edge_trust.tenant_call",
        args,
        load_average={"before": load_before, "after": load_after},
        results=results,
        comparison=comparison,
    )


if __name__ == "__main__":
    main()
