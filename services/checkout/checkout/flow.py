"""The checkout, in phases with a recovery point after each (DESIGN §5):

1. claim the idempotency record (replay / refuse / resume);
2. reserve stock and record the reservation (short SERIALIZABLE transaction);
3. create the PaymentIntent (no transaction open, no row locked);
4. finalise: order + items + order.created (one transaction) — or compensate: restock.

A retry with the same key, the inbound Stripe webhook, or the recovery worker can each pick a
record up at whatever phase it stopped in; every step checks the recorded state first, so
running one twice does nothing the second time.

The flow speaks in domain outcomes (`Paid`, `AwaitingAction`, `Replayed`); the servicer turns
them into messages. The paid response is stored as bytes by the injected `encode`, so a replay
is byte-identical to the first answer."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from services.checkout.cart.store import CartStore
from services.checkout.checkout import records, stock
from services.checkout.checkout.rules import validate
from services.checkout.config import CheckoutSettings
from services.checkout.orders.repository import Order, create_from_checkout
from services.checkout.payments.accounts import StoreAccounts
from services.checkout.payments.rules import Payment, PaymentGateway, PaymentUnavailable, intent_key
from services.common import metrics
from services.common.db import tenant_transaction
from services.common.errors import (
    DomainError,
    FailedPrecondition,
    Unavailable,
    error_from_code,
)
from services.common.tenancy import require_store_id

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Paid:
    checkout_id: str
    order: Order


@dataclass(frozen=True)
class AwaitingAction:
    """The shopper must finish 3-D Secure with `client_secret`, then retry with the same key."""

    checkout_id: str
    client_secret: str


@dataclass(frozen=True)
class Replayed:
    """The stored answer of a finished checkout, exactly as first sent."""

    response: bytes


Outcome = Paid | AwaitingAction | Replayed
Encoder = Callable[[Paid], bytes]


class CheckoutFlow:
    def __init__(
        self,
        pool: asyncpg.Pool,
        carts: CartStore,
        gateway: PaymentGateway,
        accounts: StoreAccounts,
        settings: CheckoutSettings,
        encode: Encoder,
    ) -> None:
        self._pool = pool
        self._carts = carts
        self._gateway = gateway
        self._accounts = accounts
        self._settings = settings
        self._encode = encode

    async def checkout(self, request: dict[str, Any], key: str | None) -> Outcome:
        key = records.check_key(key)
        validate(request)
        store_id = require_store_id()
        async with tenant_transaction(self._pool) as conn:
            record = await records.claim(conn, store_id, key, request, self._settings.lease_seconds)
        return await self.advance(store_id, record)

    async def advance(self, store_id: int, record: records.Record) -> Outcome:
        """Moves a record forward from its recovery point until it is final or waits on
        the shopper (3-D Secure)."""
        if record.state == "completed":
            return self._replay(record)
        if record.state == "requires_action":
            return self._requires_action(record)
        if record.state == "processing":
            record = await self._reserve(store_id, record)
        if record.state == "reserved":
            payment = await self._pay(store_id, record)
            return await self._settle(store_id, record, payment)
        return await self.advance(store_id, record)

    async def _reserve(self, store_id: int, record: records.Record) -> records.Record:
        cart, _ = await self._carts.get(store_id, record.request["cart_id"])
        if not cart.lines:
            await self._fail(store_id, record, FailedPrecondition("the cart is empty"))
        try:
            return await stock.reserve(
                self._pool,
                store_id,
                record.id,
                [(line.variant_id, line.quantity) for line in cart.lines],
                self._settings.lease_seconds,
            )
        except DomainError as exc:
            await self._fail(store_id, record, exc)
            raise

    async def _pay(self, store_id: int, record: records.Record) -> Payment:
        account = await self._accounts.get(store_id) or ""
        try:
            if record.payment_intent_id:
                return await self._gateway.retrieve(account, record.payment_intent_id)
            return await self._gateway.charge(
                account=account,
                amount=record.amount or 0,
                currency=record.currency or "",
                payment_method=record.request["payment_method"],
                idempotency_key=intent_key(store_id, str(record.id), record.attempt),
                metadata={"store_id": str(store_id), "checkout_id": str(record.id)},
            )
        except PaymentUnavailable as exc:
            # Unknown outcome: keep the reservation; a retry or the recovery worker looks again.
            async with tenant_transaction(self._pool, store_id=store_id) as conn:
                await records.extend_lease(conn, store_id, record.id, 0)
            raise Unavailable(
                "the payment provider did not answer; retry with the same Idempotency-Key"
            ) from exc

    async def _settle(self, store_id: int, record: records.Record, payment: Payment) -> Outcome:
        if payment.status == "succeeded":
            return await self.finalize(store_id, record.id, payment.intent_id or "")
        if payment.status == "requires_action":
            async with tenant_transaction(self._pool, store_id=store_id) as conn:
                await records.set_state(
                    conn,
                    store_id,
                    record.id,
                    "requires_action",
                    payment_intent_id=payment.intent_id,
                    client_secret=payment.client_secret,
                )
                await records.extend_lease(
                    conn, store_id, record.id, self._settings.requires_action_seconds
                )
                record = await records.load(conn, store_id, record.id)
            return self._requires_action(record)
        if payment.status in ("declined", "canceled"):
            metrics.PAYMENT_DECLINES.labels(reason=payment.decline_code or "declined").inc()
            declined = FailedPrecondition(
                f"payment declined: {payment.message or 'the card was declined'}"
            )
            await self.compensate(store_id, record.id, final_error=declined)
            raise declined
        raise Unavailable("the payment is still processing; retry with the same Idempotency-Key")

    async def finalize(
        self, store_id: int, record_id: uuid.UUID, payment_intent_id: str
    ) -> Outcome:
        """Creates the order for a paid checkout exactly once; later calls replay it."""
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            record = await records.load(conn, store_id, record_id, lock=True)
            if record.state == "completed":
                return self._replay(record)
            if record.state not in ("reserved", "requires_action"):
                log.error(
                    "checkout %s paid (%s) in state %s; needs a refund",
                    record_id,
                    payment_intent_id,
                    record.state,
                )
                raise FailedPrecondition("this checkout is no longer holding its items")
            order = await create_from_checkout(conn, store_id, record, payment_intent_id)
            paid = Paid(str(record.id), order)
            await records.set_state(
                conn,
                store_id,
                record.id,
                "completed",
                order_id=order.id,
                payment_intent_id=payment_intent_id,
                client_secret=None,
                response=self._encode(paid),
            )
        await self._carts.delete(store_id, record.request["cart_id"])
        return paid

    async def compensate(
        self, store_id: int, record_id: uuid.UUID, *, final_error: DomainError | None
    ) -> None:
        """Restocks and closes the record: 'completed' with the error replayed (a decline is
        final for its key) or 'failed' (the same key may try again)."""
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            record = await records.load(conn, store_id, record_id, lock=True)
            if final_error is None:
                await stock.release(conn, store_id, record, final_state="failed")
            else:
                await stock.release(
                    conn,
                    store_id,
                    record,
                    final_state="completed",
                    error_code=final_error.code,
                    error_message=final_error.message,
                )

    async def _fail(self, store_id: int, record: records.Record, exc: DomainError) -> None:
        """A retryable failure before anything was reserved."""
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            await records.set_state(conn, store_id, record.id, "failed", error_message=exc.message)
        raise exc

    def _replay(self, record: records.Record) -> Replayed:
        if record.response is not None:
            return Replayed(record.response)
        raise error_from_code(
            record.error_code or FailedPrecondition.code, record.error_message or "checkout failed"
        )

    def _requires_action(self, record: records.Record) -> AwaitingAction:
        return AwaitingAction(str(record.id), record.client_secret or "")
