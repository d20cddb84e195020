"""What the checkout needs from its database, as plain Python: the idempotency record and the
operations a checkout transaction performs. PostgreSQL implements it
(`services.checkout.checkout.repository`); the unit tests use an in-memory one. No SQL here.

Every operation runs inside one store's transaction (`CheckoutStorage.transaction`), so the
state a caller read under `get(lock=True)` is still the state when it writes."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from services.checkout.checkout.states import State
from services.checkout.checkout.totals_rules import PricingSetup
from services.checkout.orders.rules import Order
from services.common.errors import InvalidArgument

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class ReservedLine:
    variant_id: str
    product_id: str
    sku: str | None
    title: str
    quantity: int
    unit_price: int
    # Grams per unit (0: no weight set), for weight-band shipping rates.
    weight_grams: int = 0


@dataclass(frozen=True)
class Record:
    """One per (store, Idempotency-Key): what was asked, how far it got, what it holds."""

    id: uuid.UUID
    state: State
    attempt: int
    request: dict[str, Any]
    created_at: datetime
    reserved_lines: tuple[ReservedLine, ...] = ()
    currency: str | None = None
    amount: int | None = None
    application_fee: int = 0
    # The connected account the payment is made on, fixed when stock is reserved.
    payment_account: str | None = None
    payment_intent_id: str | None = None
    client_secret: str | None = None
    # When the create of this attempt's intent was first sent: from then on the same provider
    # key is repeated until the provider answers (never a second intent for one attempt).
    intent_requested_at: datetime | None = None
    order_id: uuid.UUID | None = None
    response: bytes | None = None
    error_code: int | None = None
    error_message: str | None = None
    finalize_failures: int = 0
    last_error: str | None = None
    refund_id: str | None = None
    # What the reservation priced: shipping rate, per-line tax, the itemised totals
    # (totals_rules.Priced.snapshot); None for a checkout reserved before shipping existed.
    pricing: dict[str, Any] | None = None

    def moved(self, state: State, **changes: Any) -> Record:
        return replace(self, state=state, **changes)


@dataclass(frozen=True)
class Claimed:
    """An existing record under the key, locked: whether the request matches, whether another
    worker still holds its lease."""

    record: Record
    fingerprint: bytes
    leased: bool


@dataclass(frozen=True)
class Shortage:
    """Why stock could not be taken: one message per line that is short or gone."""

    problems: list[str] = field(default_factory=list)


class OrderNotWritten(Exception):
    """The order for a succeeded payment could not be written (a constraint or data error):
    the same statement would fail again, so the checkout counts it and, past a bound, refunds."""


@dataclass(frozen=True)
class PaymentsAccount:
    """The store's payment facts the checkout needs before it reserves anything."""

    stripe_account_id: str | None
    charges_enabled: bool
    plan: str
    # active, suspended or closed: only an active store sells.
    status: str = "active"


class CheckoutTx(Protocol):
    store_id: int

    async def insert(
        self, key: str, fingerprint: bytes, request: dict[str, Any], lease_seconds: float
    ) -> Record | None:
        """A new PROCESSING record, or None when the key exists already."""

    async def by_key(self, key: str) -> Claimed: ...

    async def get(self, record_id: uuid.UUID, *, lock: bool = False) -> Record: ...

    async def save(self, record: Record, *, lease_seconds: float | None = None) -> None:
        """Writes every mutable field; `lease_seconds` also moves the lease from now."""

    async def take_stock(
        self, wanted: Mapping[uuid.UUID, int]
    ) -> tuple[tuple[ReservedLine, ...], str] | Shortage:
        """Decrements every line (rows locked in id order) or none: the lines with their
        current prices and the currency, or why not."""

    async def return_stock(self, lines: tuple[ReservedLine, ...]) -> None: ...

    async def place_order(self, record: Record, payment_intent_id: str) -> Order: ...

    async def order_for_intent(self, payment_intent_id: str) -> Order | None: ...

    async def payments_account(self) -> PaymentsAccount: ...

    async def pricing_setup(self, country: str, region: str, rate_id: str) -> PricingSetup:
        """The store's shipping and tax facts for this address and requested rate."""

    async def first_time(self, consumer: str, key: str) -> bool:
        """Records an input's key for `consumer` in this transaction; False if seen before."""


class CheckoutStorage(Protocol):
    def transaction(self, store_id: int) -> AbstractAsyncContextManager[CheckoutTx]: ...


def check_key(key: str | None) -> str:
    if not key or not key.strip():
        raise InvalidArgument.field(
            "idempotency-key", "send an Idempotency-Key header (1 to 255 characters)"
        )
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidArgument.field("idempotency-key", "must be at most 255 characters")
    return key


def fingerprint(request: dict[str, Any]) -> bytes:
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).digest()
