"""Events and signed webhook delivery, byte-compatible with `stripe.Webhook.construct_event`:
`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>`.

Routing is Stripe's: an event about a connected account's object (`event.account` set) goes only
to endpoints created with `connect: true`; an event about the platform's own objects only to the
others. Each endpoint signs with its own secret."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from devstack.stripe_emulator.store import PLATFORM, new_id

API_VERSION = "2026-10-28.endive"  # what the pinned SDK (16.1.0) sends as Stripe-Version
log = logging.getLogger(__name__)


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


@dataclass
class Endpoint:
    id: str
    url: str
    secret: str
    enabled_events: list[str] = field(default_factory=lambda: ["*"])
    # Host header to send (e.g. the platform host when the URL points at Envoy's IP and port).
    host: str | None = None
    connect: bool = False  # receives connected accounts' events instead of the platform's
    api_version: str | None = None
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    created: int = field(default_factory=lambda: int(time.time()))

    def wants(self, event_type: str, account: str = PLATFORM) -> bool:
        if self.connect != (account != PLATFORM):
            return False
        return "*" in self.enabled_events or event_type in self.enabled_events

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "secret": self.secret,
            "enabled_events": self.enabled_events,
            "connect": self.connect,
        }

    def resource(self) -> dict[str, Any]:
        """As `/v1/webhook_endpoints` shows it (the secret only on create, as on Stripe)."""
        return {
            "id": self.id,
            "object": "webhook_endpoint",
            "api_version": self.api_version,
            "application": None,
            "created": self.created,
            "description": self.description,
            "enabled_events": self.enabled_events,
            "livemode": False,
            "metadata": self.metadata,
            "status": "enabled",
            "url": self.url,
        }


@dataclass
class Event:
    body: dict[str, Any]
    # Serialized once, so a resend carries the very same bytes (only the signature's t changes).
    payload: str
    deliveries: list[dict[str, Any]] = field(default_factory=list)


class Webhooks:
    def __init__(self, attempts: int = 3, retry_base: float = 0.5) -> None:
        self.endpoints: dict[str, Endpoint] = {}
        self.events: dict[str, Event] = {}
        self.attempts = attempts
        self.retry_base = retry_base
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task] = set()

    def add_endpoint(
        self,
        url: str,
        secret: str | None = None,
        events: list[str] | None = None,
        host: str | None = None,
        *,
        connect: bool = False,
        **details: Any,
    ) -> Endpoint:
        endpoint = Endpoint(
            new_id("we"),
            url,
            secret or new_id("whsec", 32),
            events or ["*"],
            host=host,
            connect=connect,
            **details,
        )
        self.endpoints[endpoint.id] = endpoint
        return endpoint

    def targets(self, type_: str, account: str) -> list[Endpoint]:
        return [e for e in self.endpoints.values() if e.wants(type_, account)]

    def emit(
        self,
        type_: str,
        obj: dict[str, Any],
        account: str,
        request_id: str | None = None,
        idempotency_key: str | None = None,
        api_version: str | None = None,
    ) -> dict[str, Any]:
        targets = self.targets(type_, account)
        body: dict[str, Any] = {
            "id": new_id("evt"),
            "object": "event",
            "api_version": api_version or API_VERSION,
            "created": int(time.time()),
            "data": {"object": copy.deepcopy(obj)},
            "livemode": False,
            "pending_webhooks": len(targets),
            "request": {"id": request_id, "idempotency_key": idempotency_key},
            "type": type_,
        }
        if account != PLATFORM:
            body["account"] = account  # Connect events name the connected account
        event = Event(body, json.dumps(body, indent=2))
        self.events[body["id"]] = event
        for endpoint in targets:
            self.schedule(event, endpoint)
        return body

    def schedule(self, event: Event, endpoint: Endpoint, timestamp: int | None = None) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(event, endpoint, timestamp))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, event: Event, endpoint: Endpoint, timestamp: int | None) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        for attempt in range(1, self.attempts + 1):
            record: dict[str, Any] = {
                "endpoint": endpoint.id,
                "url": endpoint.url,
                "attempt": attempt,
                "at": time.time(),
            }
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": sign(event.payload, endpoint.secret, timestamp),
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            }
            if endpoint.host:
                headers["Host"] = endpoint.host
            try:
                async with self._session.post(
                    endpoint.url, data=event.payload.encode(), headers=headers
                ) as response:
                    await response.read()
                    record["status"] = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                record["error"] = f"{type(exc).__name__}: {exc}"
            event.deliveries.append(record)
            if 200 <= record.get("status", 0) < 300:
                return
            log.warning("webhook %s to %s failed: %s", event.body["id"], endpoint.url, record)
            if attempt < self.attempts:
                await asyncio.sleep(self.retry_base * 2 ** (attempt - 1))

    def listing(self, type_: str | None = None, account: str | None = None) -> list[dict]:
        out = []
        for event in reversed(self.events.values()):
            if type_ and event.body["type"] != type_:
                continue
            if account is not None and event.body.get("account", PLATFORM) != account:
                continue
            out.append({**event.body, "deliveries": list(event.deliveries)})
        return out

    def clear_events(self) -> None:
        self.events.clear()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
