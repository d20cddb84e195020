"""Everything one emulator process holds, and the one request an endpoint is serving."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from devstack.stripe_emulator.faults import Rules
from devstack.stripe_emulator.idempotency import DEFAULT_TTL, IdempotencyStore
from devstack.stripe_emulator.search_index import DEFAULT_LAG_SECONDS, SearchIndex
from devstack.stripe_emulator.store import ObjectStore, new_id
from devstack.stripe_emulator.webhooks import Webhooks


@dataclass
class Config:
    # Seconds a captured charge stays `pending` in the balance (Stripe: the payout schedule).
    balance_pending_seconds: float = 2 * 24 * 3600.0
    # Seconds an account link stays usable (Stripe: a few minutes).
    account_link_ttl_seconds: float = 300.0


@dataclass
class World:
    store: ObjectStore = field(default_factory=ObjectStore)
    idempotency: IdempotencyStore = field(default_factory=lambda: IdempotencyStore(DEFAULT_TTL))
    rules: Rules = field(default_factory=Rules)
    webhooks: Webhooks = field(default_factory=Webhooks)
    search: SearchIndex = field(default_factory=lambda: SearchIndex(DEFAULT_LAG_SECONDS))
    config: Config = field(default_factory=Config)
    # PaymentMethods made through the API: id → the test card they stand for.
    cards: dict[str, str] = field(default_factory=dict)
    # Account links by token: {"account", "refresh_url", "return_url", "expires_at", "state"}.
    account_links: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The platform's own account id (a request naming it in Stripe-Account acts as the platform).
    platform_id: str = field(default_factory=lambda: new_id("acct", 16))
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
            api_version=call.api_version if call else None,
        )

    def settle(self) -> None:
        """After a request or control call: the search index sees what it may have changed."""
        for obj in self.store.drain_touched():
            self.search.record(obj)

    def clear_objects(self) -> None:
        self.store.clear()
        self.search.clear()
        self.cards.clear()
        self.account_links.clear()


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
    api_version: str | None = None  # the Stripe-Version the request asked for
    base_url: str = ""  # where this emulator is reached (for URLs it hands out)
    api_key: str = ""
