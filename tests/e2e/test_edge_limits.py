"""The edge's connection-level rules: absolute request targets refused, oversized headers a
431 of their own, idle connections (even ones that never send a byte) closed within the idle
timeout, and that timeout shortened by the overload manager as connections pile up."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from devstack import envoy_config
from devstack.infra import free_port
from devstack.stack import wait_envoy_ready

# HTTP/2 client connection preface and an empty SETTINGS frame: an HTTP/2 client that then
# says nothing more.
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
# Envoy drains an idle HTTP/2 connection (GOAWAY, then drain_timeout, 5 s by default) before
# closing it.
H2_DRAIN_S = 5


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks):
                break
        return b"".join(chunks)


@pytest.mark.parametrize("target_store", ["other", "same"])
def test_absolute_request_target_is_refused(stack, store_a, store_b, target_store):
    """GET http://<B>/v1/products with Host: <A> must not reach B (nor A, by another rule)."""
    uri_host = store_b.host if target_store == "other" else store_a.host
    reply = _raw(
        stack.ports.edge,
        f"GET http://{uri_host}/v1/products HTTP/1.1\r\nHost: {store_a.host}\r\n"
        "Connection: close\r\n\r\n".encode(),
    )
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), reply
    assert b"absolute request targets are not accepted" in body
    assert b"Bravo" not in reply and b"Alpha" not in reply


def test_origin_form_still_routes_by_host(http, store_a):
    r = http.get("/v1/products", headers={"host": store_a.host})
    assert r.status_code == 200
    assert {p["title"] for p in r.json()["products"]} >= {"Alpha Tee"}


@pytest.mark.parametrize("kib", [16, 20, 24, 31, 33, 64])
def test_oversized_headers_are_431_with_their_own_message(http, store_a, kib):
    r = http.get("/v1/products", headers={"host": store_a.host, "x-big": "a" * (kib * 1024)})
    assert r.status_code == 431, r.text
    body = r.json()
    assert "request headers too large" in body["message"]
    assert "x-big" not in r.text  # no header names listed
    # Still healthy for the next caller.
    assert http.get("/v1/products", headers={"host": store_a.host}).status_code == 200


def test_too_many_headers_are_431(http, store_a):
    headers = {"host": store_a.host, **{f"x-h{i}": "v" for i in range(120)}}
    r = http.get("/v1/products", headers=headers)
    assert r.status_code == 431
    assert "request headers too large" in r.json()["message"]


def test_headers_just_under_the_limit_pass(http, store_a):
    r = http.get("/v1/products", headers={"host": store_a.host, "x-big": "a" * (14 * 1024)})
    assert r.status_code == 200, r.text


@dataclass
class Edge:
    port: int
    idle_timeout_s: float


@pytest.fixture
def edge_with(stack, tmp_path: Path) -> Iterator:
    """Starts an extra Envoy in front of the session's services with other connection limits
    (the session's Envoy keeps the production values)."""
    procs: list[subprocess.Popen] = []

    def start(
        idle_timeout_s: float,
        max_downstream_connections: int,
        request_headers_timeout_s: float = 10,
    ) -> Edge:
        port, admin_port = free_port(), free_port()
        config = tmp_path / f"envoy-{port}.yaml"
        config.write_text(
            envoy_config.render(
                listen_port=port,
                admin_port=admin_port,
                store_port=stack.ports.store,
                catalog_port=stack.ports.catalog,
                checkout_port=stack.ports.checkout,
                mesh=stack.mesh,
                idle_timeout_s=idle_timeout_s,
                max_downstream_connections=max_downstream_connections,
                request_headers_timeout_s=request_headers_timeout_s,
            )
        )
        log = tmp_path / f"envoy-{port}.log"
        proc = subprocess.Popen(
            [
                str(envoy_config.ROOT / ".venv" / "bin" / "envoy"),
                "-c",
                str(config),
                "--disable-hot-restart",
                "--log-level",
                "warn",
                "--concurrency",
                "1",
            ],
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        wait_envoy_ready(admin_port, proc, log)
        return Edge(port, idle_timeout_s)

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)


async def _hold(port: int, first_bytes: bytes) -> asyncio.StreamReader:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if first_bytes:
        writer.write(first_bytes)
        await writer.drain()
    return reader


async def _until_closed(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass  # Envoy's SETTINGS / GOAWAY on HTTP/2; nothing on a silent TCP connection


async def _hold_idle_and_serve(edge: Edge, store_host: str, silent: int, h2: int, within: float):
    readers = [await _hold(edge.port, b"") for _ in range(silent)]
    readers += [await _hold(edge.port, H2_PREFACE) for _ in range(h2)]
    closing = asyncio.gather(*(_until_closed(r) for r in readers))
    served = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{edge.port}") as client:
        while not closing.done():
            # A fresh connection each time: a normal caller is not idle.
            r = await client.get(
                "/v1/products", headers={"host": store_host, "connection": "close"}
            )
            served.append(r.status_code)
            await asyncio.wait([closing], timeout=0.5)
            within -= 0.5
            assert within > 0, "idle connections still open past the deadline"
    await closing
    return served


async def test_idle_connections_are_closed_within_the_idle_timeout(edge_with, store_a):
    """1,000 connections that never send a byte and 50 HTTP/2 connections that send only the
    preface are all closed by Envoy within the idle timeout (HTTP/2 plus its drain), while
    normal requests keep being served."""
    edge = edge_with(idle_timeout_s=3, max_downstream_connections=50_000)
    served = await _hold_idle_and_serve(
        edge, store_a.host, silent=1000, h2=50, within=edge.idle_timeout_s + H2_DRAIN_S + 10
    )
    assert served and set(served) == {200}


async def test_overload_manager_shortens_the_idle_timeout(edge_with, store_a):
    """With the idle timeout at 60 s but connections at 90% of the cap, the overload manager
    scales idle timers down to their 2 s minimum: 1,000 idle connections go long before 60 s."""
    edge = edge_with(idle_timeout_s=60, max_downstream_connections=1100)
    served = await _hold_idle_and_serve(edge, store_a.host, silent=1000, h2=0, within=30)
    assert served and set(served) == {200}


async def test_a_client_that_stalls_mid_headers_is_cut_off(edge_with, store_a):
    """Slowloris: 200 connections send half a request line and stop. The idle timeout does not
    apply (a request has begun) and is 60 s here; the 2 s request-headers timeout closes
    them (Envoy closes a connection whose request line never completed without a reply)."""
    edge = edge_with(
        idle_timeout_s=60, max_downstream_connections=50_000, request_headers_timeout_s=2
    )
    readers = [await _hold(edge.port, b"GET /v1/products HTTP/1.1\r\nHo") for _ in range(200)]

    async def answer(reader: asyncio.StreamReader) -> bytes:
        return await reader.read()

    replies = await asyncio.wait_for(asyncio.gather(*(answer(r) for r in readers)), timeout=30)
    # Each read returned at EOF, well before the idle timeout.
    assert all(reply in (b"",) or reply.startswith(b"HTTP/1.1 408") for reply in replies)
