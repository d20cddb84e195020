"""Test helpers for the local Stripe emulator: an SDK client pointed at it, its control API, and
a loopback receiver that records webhook deliveries byte for byte."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import stripe

from devstack.infra import free_port


def sdk_client(url: str, *, timeout: float = 10, retries: int = 0) -> stripe.StripeClient:
    """The official SDK, sync and async methods both, against the emulator. Retries are off
    unless a test asks: the SDK's own retries would hide the status a test looks at."""
    return stripe.StripeClient(
        "sk_test_emulator",
        base_addresses={"api": url},
        http_client=stripe.HTTPXClient(timeout=timeout, allow_sync_methods=True),
        max_network_retries=retries,
    )


class Control:
    def __init__(self, url: str) -> None:
        self._http = httpx.Client(base_url=f"{url}/_emulator", timeout=10)

    def _post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        reply = self._http.post(path, json=body or {})
        reply.raise_for_status()
        return reply.json()

    def fault(self, **spec: Any) -> dict[str, Any]:
        return self._post("/faults", spec)

    def latency(self, **spec: Any) -> dict[str, Any]:
        return self._post("/latency", spec)

    def reset(self, **flags: bool) -> None:
        self._post("/reset", flags)

    def config(self, **values: Any) -> dict[str, Any]:
        return self._post("/config", values)

    def requests(self, **filters: str) -> list[dict[str, Any]]:
        return self._http.get("/requests", params=filters).json()["data"]

    def authenticate(self, intent_id: str, outcome: str) -> httpx.Response:
        return self._http.post(
            f"/payment_intents/{intent_id}/authenticate", json={"outcome": outcome}
        )

    def add_webhook_endpoint(self, url: str, secret: str | None = None) -> dict[str, Any]:
        return self._post("/webhook_endpoints", {"url": url, "secret": secret})

    def events(self, **filters: str) -> list[dict[str, Any]]:
        return self._http.get("/events", params=filters).json()["data"]

    def resend(self, event_id: str, **body: Any) -> dict[str, Any]:
        return self._post(f"/events/{event_id}/resend", body)

    def sign(self, payload: str, secret: str, timestamp: int | None = None) -> str:
        body = {"payload": payload, "secret": secret, "timestamp": timestamp}
        return self._post("/webhooks/sign", body)["signature_header"]

    def close(self) -> None:
        self._http.close()


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes


class WebhookSink:
    """Answers 200 to everything and keeps what it got; verification is the test's job."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Delivery] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with sink._lock:
                    sink.received.append(Delivery(self.path, headers, body))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "/stripe") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_for(self, match: Callable[[Delivery], bool], timeout: float = 5) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                found = [d for d in self.received if match(d)]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
