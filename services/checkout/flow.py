"""The checkout, in phases with a recovery point after each (DESIGN §5):

1. claim the idempotency record (replay / refuse / resume);
2. reserve stock and record the reservation (short SERIALIZABLE transaction);
3. create the PaymentIntent (no transaction open, no row locked);
4. finalise: order + items + order.created (one transaction) — or compensate: restock.

A retry with the same key, the inbound Stripe webhook, or the recovery worker can each pick a
record up at whatever phase it stopped in; every step checks the recorded state first, so
running one twice does nothing the second time."""

from __future__ import annotations

import logging
import time
import uuid

import asyncpg
import grpc
from shop.checkout.v1 import checkout_pb2 as pb

from services.checkout import records, stock
from services.checkout.cart_store import CartStore
from services.checkout.messages import address_dict, order_message
from services.checkout.orders import create_from_checkout
from services.checkout.payments import Payment, PaymentUnavailable, StripeGateway, intent_key
from services.checkout.settings import CheckoutSettings
from services.common import metrics
from services.common.db import tenant_transaction
from services.common.errors import (
    DomainError,
    FailedPrecondition,
    Unavailable,
    Validator,
)
from services.common.status import error_for_code
from services.common.tenancy import require_store_id

log = logging.getLogger(__name__)

_DECLINED = grpc.StatusCode.FAILED_PRECONDITION
ACCOUNT_CACHE_SECONDS = 60.0


def request_dict(request: pb.CheckoutRequest) -> dict:
    """The request as recorded and fingerprinted (billing defaults to shipping)."""
    shipping = address_dict(request.shipping_address)
    billing = address_dict(request.billing_address) if request.HasField("billing_address") else {}
    return {
        "cart_id": request.cart_id,
        "email": request.email.strip(),
        "shipping_address": shipping,
        "billing_address": billing or shipping,
        "payment_method": request.payment_method,
    }


def validate(request: dict) -> None:
    v = Validator()
    v.check(
        "@" in request["email"] and len(request["email"]) <= 254,
        "email",
        "must be an email address",
    )
    shipping = request["shipping_address"]
    for name in ("name", "line1", "city", "postal_code", "country"):
        v.check(bool(shipping.get(name, "").strip()), f"shipping_address.{name}", "is required")
    country = shipping.get("country", "")
    v.check(
        len(country) == 2 and country.isalpha(),
        "shipping_address.country",
        "must be an ISO 3166-1 alpha-2 code such as US",
    )
    v.check(
        bool(request["payment_method"].strip()),
        "payment_method",
        "is required (a PaymentMethod id, e.g. pm_card_visa in test mode)",
    )
    v.raise_if_any()


class CheckoutFlow:
    def __init__(
        self,
        pool: asyncpg.Pool,
        carts: CartStore,
        gateway: StripeGateway,
        settings: CheckoutSettings,
    ) -> None:
        self._pool = pool
        self._carts = carts
        self._gateway = gateway
        self._settings = settings
        self._accounts: dict[int, tuple[str, float]] = {}

    async def checkout(self, request: pb.CheckoutRequest, key: str | None) -> pb.CheckoutResponse:
        key = records.check_key(key)
        wanted = request_dict(request)
        validate(wanted)
        store_id = require_store_id()
        async with tenant_transaction(self._pool) as conn:
            record = await records.claim(conn, key, wanted, self._settings.lease_seconds)
        return await self.advance(store_id, record)

    async def advance(self, store_id: int, record: records.Record) -> pb.CheckoutResponse:
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
        account = await self._account(store_id)
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
                await records.extend_lease(conn, record.id, 0)
            raise Unavailable(
                "the payment provider did not answer; retry with the same Idempotency-Key"
            ) from exc

    async def _settle(
        self, store_id: int, record: records.Record, payment: Payment
    ) -> pb.CheckoutResponse:
        if payment.status == "succeeded":
            return await self.finalize(store_id, record.id, payment.intent_id or "")
        if payment.status == "requires_action":
            async with tenant_transaction(self._pool, store_id=store_id) as conn:
                await records.set_state(
                    conn,
                    record.id,
                    "requires_action",
                    payment_intent_id=payment.intent_id,
                    client_secret=payment.client_secret,
                )
                await records.extend_lease(conn, record.id, self._settings.requires_action_seconds)
                record = await records.load(conn, record.id)
            return self._requires_action(record)
        if payment.status in ("declined", "canceled"):
            metrics.PAYMENT_DECLINES.labels(reason=payment.decline_code or "declined").inc()
            message = f"payment declined: {payment.message or 'the card was declined'}"
            await self.compensate(store_id, record.id, final_error=(_DECLINED, message))
            raise FailedPrecondition(message)
        raise Unavailable("the payment is still processing; retry with the same Idempotency-Key")

    async def finalize(
        self, store_id: int, record_id: uuid.UUID, payment_intent_id: str
    ) -> pb.CheckoutResponse:
        """Creates the order for a paid checkout exactly once; later calls replay it."""
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            record = await records.load(conn, record_id, lock=True)
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
            order = await create_from_checkout(conn, record, payment_intent_id)
            response = pb.CheckoutResponse(
                status="paid", order=order_message(order), checkout_id=str(record.id)
            )
            await records.set_state(
                conn,
                record.id,
                "completed",
                order_id=order.id,
                payment_intent_id=payment_intent_id,
                client_secret=None,
                response=response.SerializeToString(),
            )
        await self._carts.delete(store_id, record.request["cart_id"])
        return response

    async def compensate(
        self,
        store_id: int,
        record_id: uuid.UUID,
        *,
        final_error: tuple[grpc.StatusCode, str] | None,
    ) -> None:
        """Restocks and closes the record: 'completed' with the error replayed (a decline is
        final for its key) or 'failed' (the same key may try again)."""
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            record = await records.load(conn, record_id, lock=True)
            if final_error is None:
                await stock.release(conn, store_id, record, final_state="failed")
            else:
                code, message = final_error
                await stock.release(
                    conn,
                    store_id,
                    record,
                    final_state="completed",
                    error_code=code.value[0],
                    error_message=message,
                )

    async def _fail(self, store_id: int, record: records.Record, exc: DomainError) -> None:
        """A retryable failure before anything was reserved."""
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            await records.set_state(conn, record.id, "failed", error_message=exc.message)
        raise exc

    async def _account(self, store_id: int) -> str:
        """The store's Connect account. It changes only at (re)onboarding, so it is cached for a
        minute instead of costing a transaction per checkout."""
        cached = self._accounts.get(store_id)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        async with tenant_transaction(self._pool, store_id=store_id, readonly=True) as conn:
            account = await conn.fetchval("SELECT stripe_account_id FROM stores")
        self._accounts[store_id] = (account, time.monotonic() + ACCOUNT_CACHE_SECONDS)
        return account

    def _replay(self, record: records.Record) -> pb.CheckoutResponse:
        if record.response is not None:
            return pb.CheckoutResponse.FromString(record.response)
        raise error_for_code(
            record.error_code or _DECLINED.value[0], record.error_message or "checkout failed"
        )

    def _requires_action(self, record: records.Record) -> pb.CheckoutResponse:
        return pb.CheckoutResponse(
            status="requires_action",
            client_secret=record.client_secret or "",
            checkout_id=str(record.id),
        )
