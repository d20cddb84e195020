"""A real HTTP server on loopback standing in for a merchant's webhook endpoint: verifies each
request's signature with the secret registered for its path, records every request, and answers
with the statuses a test scripts for that path (200 once the script runs out)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from services.events.signing import verify


@dataclass(frozen=True)
class Received:
    path: str
    at: float
    headers: dict[str, str]
    body: bytes
    signature_valid: bool


class WebhookReceiver:
    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[Received] = []
        self.secrets: dict[str, str] = {}
        self.scripts: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                secret = receiver.secrets.get(self.path, "")
                valid = verify(
                    secret,
                    headers.get("x-shop-timestamp", ""),
                    body,
                    headers.get("x-shop-signature", ""),
                )
                with receiver._lock:
                    receiver.received.append(
                        Received(self.path, time.monotonic(), headers, body, valid)
                    )
                    script = receiver.scripts.get(self.path, [])
                    status = script.pop(0) if script else 200
                if not valid:
                    status = 401
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests_to(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
