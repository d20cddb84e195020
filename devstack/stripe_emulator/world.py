"""Everything one emulator process holds, and the one request an endpoint is serving."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from devstack.stripe_emulator.faults import Rules
from devstack.stripe_emulator.idempotency import DEFAULT_TTL, IdempotencyStore
from devstack.stripe_emulator.store import ObjectStore
from devstack.stripe_emulator.webhooks import Webhooks


@dataclass
class World:
    store: ObjectStore = field(default_factory=ObjectStore)
    idempotency: IdempotencyStore = field(default_factory=lambda: IdempotencyStore(DEFAULT_TTL))
    rules: Rules = field(default_factory=Rules)
    webhooks: Webhooks = field(default_factory=Webhooks)
    # One row per API request: what tests count ("how many creates reached Stripe?").
    journal: list[dict[str, Any]] = field(default_factory=list)
    journal_limit: int = 100_000

    def emit(self, type_: str, obj: dict[str, Any], account: str, call: Call | None) -> None:
        self.webhooks.emit(
            type_,
            obj,
            account,
            request_id=call.request_id if call else None,
            idempotency_key=call.idempotency_key if call else None,
        )


@dataclass
class Call:
    """An API request once authenticated: the endpoint sees only this."""

    method: str
    path: str
    account: str
    params: dict[str, Any]
    fields: dict[str, str]  # flat form fields as sent, for fault matching and the journal
    request_id: str
    idempotency_key: str | None = None
