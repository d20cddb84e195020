"""In-memory adapters for the checkout's ports, injected where the real service takes its
PostgreSQL storage, Redis carts and Stripe gateway (services.checkout.bootstrap.build accepts
them too). For unit tests of the checkout's rules only: they keep state in dicts, serialise each
store's transactions with a lock (as row locks would) and roll back on an exception."""

from __future__ import annotations

import asyncio
import copy
import itertools
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from services.checkout.cart.rules import StoredCart, StoredLine
from services.checkout.checkout.states import State
from services.checkout.checkout.storage import (
    Claimed,
    OrderNotWritten,
    PaymentsAccount,
    Record,
    ReservedLine,
    Shortage,
)
from services.checkout.checkout.totals_rules import PricingSetup
from services.checkout.orders.rules import FIRST_ORDER_NUMBER, Order, OrderLine
from services.checkout.payments.rules import Payment, PaymentRefused, PaymentUnavailable, Refund
from services.checkout.tax.rules import TaxSettings
from services.common.errors import NotFound
from services.common.stock_rules import cannot_sell


@dataclass
class Variant:
    quantity: int
    price: int = 2500
    currency: str = "USD"
    sku: str = "SKU"
    status: str = "active"
    policy: str = "deny"
    product_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class _Row:
    record: Record
    key: str
    fingerprint: bytes
    leased: bool


@dataclass
class _State:
    rows: dict[uuid.UUID, _Row] = field(default_factory=dict)
    variants: dict[uuid.UUID, Variant] = field(default_factory=dict)
    orders: dict[uuid.UUID, Order] = field(default_factory=dict)
    processed: set[tuple[str, str]] = field(default_factory=set)
    number: int = FIRST_ORDER_NUMBER - 1


class InMemoryTx:
    def __init__(self, storage: InMemoryCheckoutStorage, store_id: int) -> None:
        self._storage = storage
        self._s = storage.stores[store_id]
        self.store_id = store_id

    async def insert(
        self, key: str, fingerprint: bytes, request: dict[str, Any], lease_seconds: float
    ) -> Record | None:
        if any(row.key == key for row in self._s.rows.values()):
            return None
        record = Record(
            id=uuid.uuid4(),
            state=State.PROCESSING,
            attempt=1,
            request=copy.deepcopy(request),
            created_at=self._storage.now(),
        )
        self._s.rows[record.id] = _Row(record, key, fingerprint, lease_seconds > 0)
        return record

    async def by_key(self, key: str) -> Claimed:
        row = next(row for row in self._s.rows.values() if row.key == key)
        return Claimed(row.record, row.fingerprint, row.leased)

    async def get(self, record_id: uuid.UUID, *, lock: bool = False) -> Record:
        row = self._s.rows.get(record_id)
        if row is None:
            raise LookupError(record_id)
        return row.record

    async def save(self, record: Record, *, lease_seconds: float | None = None) -> None:
        row = self._s.rows[record.id]
        row.record = record
        if lease_seconds is not None:
            row.leased = lease_seconds > 0

    async def take_stock(
        self, wanted: Mapping[uuid.UUID, int]
    ) -> tuple[tuple[ReservedLine, ...], str] | Shortage:
        problems = []
        for vid, quantity in sorted(wanted.items()):
            variant = self._s.variants.get(vid)
            reason = cannot_sell(
                variant.status if variant else None,
                variant.policy if variant else "deny",
                variant.quantity if variant else 0,
                quantity,
            )
            if reason:
                problems.append(f"{vid}: {reason}")
        if problems:
            return Shortage(problems)
        lines = []
        for vid, quantity in sorted(wanted.items()):
            variant = self._s.variants[vid]
            variant.quantity -= quantity
            lines.append(
                ReservedLine(
                    str(vid), variant.product_id, variant.sku, "Item", quantity, variant.price
                )
            )
        return tuple(lines), self._s.variants[sorted(wanted)[0]].currency

    async def return_stock(self, lines: tuple[ReservedLine, ...]) -> None:
        for line in lines:
            variant = self._s.variants.get(uuid.UUID(line.variant_id))
            if variant is not None:
                variant.quantity += line.quantity

    async def place_order(self, record: Record, payment_intent_id: str) -> Order:
        if self._storage.failing_orders > 0:
            self._storage.failing_orders -= 1
            raise OrderNotWritten("CheckViolationError: order total out of range")
        self._s.number += 1
        now = self._storage.now()
        order = Order(
            id=uuid.uuid4(),
            number=self._s.number,
            status="paid",
            email=record.request["email"],
            currency=record.currency or "",
            total=record.amount or 0,
            refunded=0,
            shipping_address=record.request["shipping_address"],
            billing_address=record.request["billing_address"],
            payment_intent_id=payment_intent_id,
            lines=tuple(
                OrderLine(
                    line.variant_id,
                    line.product_id,
                    line.sku,
                    line.title,
                    line.quantity,
                    line.unit_price,
                    0,
                )
                for line in record.reserved_lines
            ),
            created_at=now,
            updated_at=now,
            checkout_id=record.id,
            application_fee=record.application_fee,
            payment_account=record.payment_account,
        )
        self._s.orders[order.id] = order
        return order

    async def order_for_intent(self, payment_intent_id: str) -> Order | None:
        return next(
            (o for o in self._s.orders.values() if o.payment_intent_id == payment_intent_id), None
        )

    async def payments_account(self) -> PaymentsAccount:
        return self._storage.accounts[self.store_id]

    async def pricing_setup(self, country: str, region: str, rate_id: str) -> PricingSetup:
        """A store that ships nowhere yet and collects no tax (the flow's own tests)."""
        return PricingSetup(
            ships=False, covered=False, rate=None, settings=TaxSettings(), tax_rate=0
        )

    async def first_time(self, consumer: str, key: str) -> bool:
        if (consumer, key) in self._s.processed:
            return False
        self._s.processed.add((consumer, key))
        return True


class InMemoryCheckoutStorage:
    def __init__(self) -> None:
        self.stores: dict[int, _State] = {}
        self.accounts: dict[int, PaymentsAccount] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        # The next N order writes fail as a constraint violation would.
        self.failing_orders = 0
        self.now = lambda: datetime.now(UTC)

    def add_store(
        self,
        store_id: int,
        *,
        account: str = "acct_1",
        charges_enabled: bool = True,
        plan: str = "standard",
    ) -> None:
        self.stores[store_id] = _State()
        self.accounts[store_id] = PaymentsAccount(account, charges_enabled, plan)

    def add_variant(self, store_id: int, variant: Variant) -> uuid.UUID:
        vid = uuid.uuid4()
        self.stores[store_id].variants[vid] = variant
        return vid

    def stock(self, store_id: int, vid: uuid.UUID) -> int:
        return self.stores[store_id].variants[vid].quantity

    def orders(self, store_id: int) -> list[Order]:
        return list(self.stores[store_id].orders.values())

    def record(self, store_id: int, record_id: uuid.UUID) -> Record:
        return self.stores[store_id].rows[record_id].record

    def only_record(self, store_id: int) -> Record:
        (row,) = self.stores[store_id].rows.values()
        return row.record

    def expire_lease(self, store_id: int, record_id: uuid.UUID) -> None:
        self.stores[store_id].rows[record_id].leased = False

    @asynccontextmanager
    async def transaction(self, store_id: int) -> AsyncIterator[InMemoryTx]:
        lock = self._locks.setdefault(store_id, asyncio.Lock())
        async with lock:
            saved = copy.deepcopy(self.stores[store_id])
            try:
                yield InMemoryTx(self, store_id)
            except BaseException:
                self.stores[store_id] = saved
                raise


class InMemoryCarts:
    def __init__(self) -> None:
        self.carts: dict[tuple[int, str], StoredCart] = {}

    def put(self, store_id: int, lines: list[tuple[uuid.UUID, int]]) -> str:
        stored = [StoredLine(uuid.uuid4().hex[:12], str(v), q) for v, q in lines]
        cart = StoredCart(uuid.uuid4().hex, stored)
        self.carts[(store_id, cart.id)] = cart
        return cart.id

    async def get(self, store_id: int, cart_id: str) -> tuple[StoredCart, int]:
        cart = self.carts.get((store_id, cart_id))
        if cart is None:
            raise NotFound("no cart with this id in this store")
        return copy.deepcopy(cart), 3600

    async def delete(self, store_id: int, cart_id: str) -> None:
        self.carts.pop((store_id, cart_id), None)


@dataclass
class Intent:
    id: str
    account: str
    amount: int
    status: str
    metadata: dict[str, str]
    refunded: int = 0


class InMemoryGateway:
    """Stripe's semantics that matter for money: an idempotency key replays its first answer
    (including a lost one), a declined intent can later succeed, refunds are recorded.

    `next_outcomes` scripts what the next creates do: "succeed", "decline", "3ds",
    "lost" (the intent succeeds but the answer never arrives, and the key replays a 500),
    "timeout" (the intent succeeds, the answer is lost once; a retry with the key gets it),
    "refused" (our request is refused; nothing is created)."""

    def __init__(self) -> None:
        self.intents: dict[str, Intent] = {}
        self.keys: dict[str, tuple[str, str | None]] = {}
        self.refunds: list[tuple[str, int]] = []
        self.next_outcomes: list[str] = []
        self.creates = 0
        self.unavailable = False
        # The provider refuses the next refunds with this error code (e.g. the merchant
        # refunded in Stripe's Dashboard already: charge_already_refunded).
        self.refund_refusal: str | None = None
        self._ids = itertools.count(1)

    def _payment(self, intent: Intent) -> Payment:
        status = {"requires_payment_method": "declined"}.get(intent.status, intent.status)
        return Payment(
            status,
            intent.id,
            client_secret=f"{intent.id}_secret" if intent.status == "requires_action" else None,
            message="Your card was declined." if status == "declined" else None,
            amount=intent.amount,
            metadata=dict(intent.metadata),
        )

    async def charge(
        self,
        *,
        account: str,
        amount: int,
        currency: str,
        payment_method: str,
        application_fee: int,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> Payment:
        if self.unavailable:
            raise PaymentUnavailable("connection refused")
        if idempotency_key in self.keys:
            intent_id, replay = self.keys[idempotency_key]
            if replay == "500":
                raise PaymentUnavailable("500 (replayed)")
            return self._payment(self.intents[intent_id])
        outcome = self.next_outcomes.pop(0) if self.next_outcomes else "succeed"
        if outcome == "refused":
            raise PaymentRefused("the provider refused the request", "ref123")
        self.creates += 1
        status = {"decline": "requires_payment_method", "3ds": "requires_action"}.get(
            outcome, "succeeded"
        )
        intent = Intent(f"pi_{next(self._ids)}", account, amount, status, dict(metadata))
        self.intents[intent.id] = intent
        self.keys[idempotency_key] = (intent.id, "500" if outcome == "lost" else None)
        if outcome in ("lost", "timeout"):
            raise PaymentUnavailable("timed out")
        return self._payment(intent)

    async def retrieve(self, account: str, intent_id: str) -> Payment:
        if self.unavailable:
            raise PaymentUnavailable("connection refused")
        return self._payment(self.intents[intent_id])

    async def find_recent(
        self, account: str, metadata: dict[str, str], since: datetime
    ) -> Payment | None:
        if self.unavailable:
            raise PaymentUnavailable("connection refused")
        for intent in self.intents.values():
            matches = all(intent.metadata.get(k) == v for k, v in metadata.items())
            if intent.account == account and matches:
                return self._payment(intent)
        return None

    async def cancel(self, account: str, intent_id: str) -> Payment:
        intent = self.intents[intent_id]
        if intent.status != "succeeded":
            intent.status = "canceled"
        return self._payment(intent)

    async def refund(
        self,
        account: str,
        intent_id: str,
        amount: int | None,
        idempotency_key: str,
        metadata: dict[str, str] | None = None,
    ) -> Refund:
        if self.unavailable:
            raise PaymentUnavailable("connection refused")
        if self.refund_refusal:
            raise PaymentRefused("refused", "ref", shopper_fixable=True, code=self.refund_refusal)
        intent = self.intents[intent_id]
        value = intent.amount - intent.refunded if amount is None else amount
        if idempotency_key not in {k for k, _ in self.refunds}:
            intent.refunded += value
            self.refunds.append((idempotency_key, value))
        return Refund(f"re_{len(self.refunds)}", "succeeded", value)

    # --- what a shopper or Stripe does outside our calls ---------------------------------

    def authenticate(self, intent_id: str, succeed: bool) -> None:
        self.intents[intent_id].status = "succeeded" if succeed else "requires_payment_method"

    def pay_again(self, intent_id: str) -> None:
        """The shopper confirms a declined intent again with another card (as Stripe allows)."""
        self.intents[intent_id].status = "succeeded"

    def extra_intent(self, account: str, amount: int, metadata: dict[str, str]) -> str:
        intent = Intent(f"pi_{next(self._ids)}", account, amount, "succeeded", dict(metadata))
        self.intents[intent.id] = intent
        return intent.id

    def succeeded_unrefunded(self) -> list[Intent]:
        return [
            i for i in self.intents.values() if i.status == "succeeded" and i.refunded < i.amount
        ]


def with_state(record: Record, **changes: Any) -> Record:
    return replace(record, **changes)
