"""Webhook deliveries connect to the address that was vetted (DNS rebinding cannot reach
loopback), keep the hostname for Host and TLS, and show merchants one generic reason for every
failure without an HTTP response. Real PostgreSQL, real sockets on loopback; the delivery worker
is driven one attempt at a time on deliveries the stack's own worker will not claim (due in a
day)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import ssl
import subprocess
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from devstack.infra import free_port
from services.common.db import tenant_transaction
from services.common.ssrf import SsrfPolicy
from services.common.tenancy import current_store_id
from services.events.config import EventsConfig
from services.events.consumers.webhooks import FAILED_NO_RESPONSE, WebhookDeliveryWorker
from services.store.webhooks.repository import WebhookRepository
from tests.integration.conftest import make_store

PUBLIC = "93.184.215.14"


class Listener:
    """A TCP listener on loopback that counts the connections it accepts (and may close them
    at once without answering)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.accepted = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Listener:
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.accepted += 1
            writer.close()

        self._server = await asyncio.start_server(accept, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


def resolver(*answers: list[str]):
    """Answers the i-th look-up with answers[i] (the last one from then on), recording each."""
    asked: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return answers[min(len(asked), len(answers)) - 1]

    resolve.asked = asked  # type: ignore[attr-defined]
    return resolve


async def register(pool, store: int, url: str, policy: SsrfPolicy, resolve) -> uuid.UUID:
    token = current_store_id.set(store)
    try:
        row, _secret = await WebhookRepository(pool, policy, resolve).create("orders/create", url)
    finally:
        current_store_id.reset(token)
    return row.id


async def pending_delivery(pool, store: int, webhook_id: uuid.UUID) -> uuid.UUID:
    async with tenant_transaction(pool, store_id=store) as conn:
        return await conn.fetchval(
            """INSERT INTO webhook_deliveries (store_id, webhook_id, event_key, topic, payload,
                                               next_attempt_at)
               VALUES ($1, $2, $3, 'orders/create', '{"n": 1}', now() + interval '1 day')
               RETURNING id""",
            store,
            webhook_id,
            uuid.uuid4().hex,
        )


async def attempt_log(pool, store: int, delivery_id: uuid.UUID) -> list[tuple]:
    async with tenant_transaction(pool, store_id=store, readonly=True) as conn:
        rows = await conn.fetch(
            "SELECT response_code, error FROM webhook_attempts"
            " WHERE store_id = $1 AND delivery_id = $2 ORDER BY attempt",
            store,
            delivery_id,
        )
    return [(r["response_code"], r["error"]) for r in rows]


def events_config() -> EventsConfig:
    return dataclasses.replace(EventsConfig.from_env(), webhook_timeout=3.0)


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_rebinding_name_never_reaches_loopback(app_pool, monkeypatch, scheme):
    monkeypatch.delenv("WEBHOOK_ALLOWED_TARGETS", raising=False)
    store = await make_store(app_pool)
    # Public to the registration check, loopback to every later look-up.
    rebinding = resolver([PUBLIC], ["127.0.0.1"])
    async with Listener() as loopback:
        url = f"{scheme}://rebind.example.com:{loopback.port}/hook"
        webhook = await register(app_pool, store, url, SsrfPolicy(allow_http=True), rebinding)
        delivery = await pending_delivery(app_pool, store, webhook)
        worker = WebhookDeliveryWorker(app_pool, app_pool, events_config(), resolve=rebinding)
        try:
            await worker.deliver(store, delivery)
        finally:
            await worker.close()
        assert loopback.accepted == 0
    assert rebinding.asked == ["rebind.example.com", "rebind.example.com"]
    [(code, error)] = await attempt_log(app_pool, store, delivery)
    assert code is None
    assert error.startswith("refused:") and "loopback" in error


async def test_open_and_closed_ports_read_the_same_to_the_merchant(app_pool, monkeypatch):
    """A closed port (connection refused) and an open one that hangs up without answering
    leave the same words in the delivery log."""
    store = await make_store(app_pool)
    closed_port = free_port()
    async with Listener() as open_port:
        monkeypatch.setenv(
            "WEBHOOK_ALLOWED_TARGETS",
            f"closed.example.com:{closed_port},open.example.com:{open_port.port}",
        )
        loopback = resolver(["127.0.0.1"])
        policy = dataclasses.replace(SsrfPolicy.from_env(), allow_http=True)
        deliveries = []
        for host, port in (("closed", closed_port), ("open", open_port.port)):
            url = f"http://{host}.example.com:{port}/hook"
            webhook = await register(app_pool, store, url, policy, loopback)
            deliveries.append(await pending_delivery(app_pool, store, webhook))
        worker = WebhookDeliveryWorker(app_pool, app_pool, events_config(), resolve=loopback)
        try:
            for delivery in deliveries:
                await worker.deliver(store, delivery)
        finally:
            await worker.close()
        assert open_port.accepted == 1
    logs = [await attempt_log(app_pool, store, d) for d in deliveries]
    assert logs == [[(None, FAILED_NO_RESPONSE)], [(None, FAILED_NO_RESPONSE)]]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for hooks.example.com (openssl CLI)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=hooks.example.com", "-addext", "subjectAltName=DNS:hooks.example.com",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_https_delivery_keeps_the_hostname_for_host_sni_and_certificate(
    app_pool, monkeypatch, certificate
):
    cert, key = certificate
    seen: dict[str, str | None] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen["host"] = self.headers["host"]
            seen["body"] = self.rfile.read(int(self.headers["content-length"])).decode()
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    server_context.sni_callback = lambda sock, name, ctx: seen.update(sni=name)
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("WEBHOOK_ALLOWED_TARGETS", f"hooks.example.com:{port}")
        loopback = resolver(["127.0.0.1"])
        store = await make_store(app_pool)
        url = f"https://hooks.example.com:{port}/hook"
        webhook = await register(app_pool, store, url, SsrfPolicy.from_env(), loopback)
        delivery = await pending_delivery(app_pool, store, webhook)
        # The client trusts only this certificate, and checks it names the URL's host.
        client_context = ssl.create_default_context(cafile=str(cert))
        worker = WebhookDeliveryWorker(
            app_pool, app_pool, events_config(), resolve=loopback, verify=client_context
        )
        try:
            await worker.deliver(store, delivery)
        finally:
            await worker.close()
    finally:
        server.shutdown()
    assert await attempt_log(app_pool, store, delivery) == [(200, None)]
    assert seen["host"] == f"hooks.example.com:{port}"
    assert seen["sni"] == "hooks.example.com"
    assert json.loads(seen["body"]) == {"n": 1}
