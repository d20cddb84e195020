"""Drives the checkout state machine (states.py) from its three callers: the shopper (with the
Idempotency-Key), Stripe's webhooks and the recovery worker (DESIGN §5, §10).

Each step is one transaction on the storage port that re-reads the record under a row lock,
checks that its event still applies, and writes the move with its effect. No row is locked
while the payment provider is called. The money rule: a succeeded payment is settled by whether
an order exists for it — never by what the record happened to say — so it ends in exactly one
order or a full refund whichever caller sees it first, however often.

The flow speaks in domain outcomes (`Paid`, `AwaitingAction`, `Replayed`); the servicer turns
them into messages. The paid response is stored as bytes by the injected `encode`, so a replay
is byte-identical to the first answer."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.checkout.cart.rules import CartSource
from services.checkout.checkout.rules import validate
from services.checkout.checkout.states import HOLDING_STOCK, Event, State, next_state
from services.checkout.checkout.storage import (
    CheckoutStorage,
    CheckoutTx,
    OrderNotWritten,
    Record,
    Shortage,
    check_key,
    fingerprint,
)
from services.checkout.checkout.totals_rules import check_shipping, price_checkout
from services.checkout.config import CheckoutSettings
from services.checkout.orders.rules import Order
from services.checkout.payments.rules import (
    Payment,
    PaymentGateway,
    PaymentRefused,
    PaymentUnavailable,
    Refund,
    intent_key,
    intent_metadata,
)
from services.common import metrics
from services.common.db import is_connection_loss
from services.common.errors import (
    Aborted,
    DomainError,
    FailedPrecondition,
    NotFound,
    Unavailable,
    error_from_code,
)
from services.common.plans import platform_fee
from services.common.tenancy import require_store_id

log = logging.getLogger(__name__)

# Writing the order for a succeeded payment is tried this often (or for this long), then the
# payment is refunded: the shopper's money never waits on a bug.
MAX_FINALIZE_FAILURES = 5
FINALIZE_DEADLINE = timedelta(minutes=15)
# Stripe replays an idempotent answer for 24 hours; within that window a lost create is only
# ever repeated with the same key. Past it, a repeat could make a second intent.
PROVIDER_KEY_WINDOW = timedelta(hours=23)
# A create that keeps failing without an answer is looked for in the provider's (strongly
# consistent) list of recent intents once this much time has passed since it was first sent.
LIST_LOOKUP_AFTER = timedelta(seconds=5)
STEP_LIMIT = 8
# A refund the provider refused (a disputed payment) is asked for again after this long.
REFUSED_REFUND_RETRY = 3600.0
# A checkout the recovery worker finds not yet reserved is carried on (its worker may just be
# queued behind other buyers of the same items); one this old is let go instead: the shopper
# has long stopped waiting and must not be charged now.
STALE_START = timedelta(minutes=10)

CONSUMER = "stripe_webhook"


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
Dedupe = tuple[str, str]  # (consumer, input key) recorded in the effect's transaction


def stored_error(record: Record) -> DomainError:
    return error_from_code(
        record.error_code or FailedPrecondition.code, record.error_message or "checkout failed"
    )


def _move(record: Record, event: Event, **changes: Any) -> Record:
    target = next_state(record.state, event)
    if target is None:
        raise RuntimeError(f"{event} does not apply to a {record.state} checkout")
    return record.moved(target, **changes)


class _Undone(Exception):
    """Refused once the stock was taken: raised inside the transaction to roll it back."""

    def __init__(self, refusal: DomainError) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


def _utcnow() -> datetime:
    return datetime.now(UTC)


class CheckoutFlow:
    def __init__(
        self,
        storage: CheckoutStorage,
        carts: CartSource,
        gateway: PaymentGateway,
        settings: CheckoutSettings,
        encode: Encoder,
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._storage = storage
        self._carts = carts
        self._gateway = gateway
        self._settings = settings
        self._encode = encode
        self._now = clock

    # --- the shopper -------------------------------------------------------------------------

    async def checkout(self, request: dict[str, Any], key: str | None) -> Outcome:
        key = check_key(key)
        validate(request)
        store_id = require_store_id()
        async with self._storage.transaction(store_id) as tx:
            record = await self._claim(tx, key, request)
        try:
            return await self._drive(store_id, record)
        except Exception as exc:
            if is_connection_loss(exc):
                # The database went away mid-step: let the shopper's retry (or the recovery
                # worker) take over at once instead of waiting for the lease.
                with contextlib.suppress(Exception):
                    await self._release_lease(store_id, await self._read(store_id, record.id))
            raise

    async def _claim(self, tx: CheckoutTx, key: str, request: dict[str, Any]) -> Record:
        """The record to work on, or the finished one to replay. Refuses a different request
        under the same key, and a key whose first request is still running."""
        digest = fingerprint(request)
        record = await tx.insert(key, digest, request, self._settings.lease_seconds)
        if record is not None:
            return record
        claimed = await tx.by_key(key)
        if claimed.fingerprint != digest:
            raise FailedPrecondition(
                "this Idempotency-Key was already used for a different checkout request; use a"
                " new key for a new request"
            )
        record = claimed.record
        if record.state is State.FAILED:
            # Retryable and nothing held: start over under the same key, as a new attempt.
            retry = _move(
                Record(
                    id=record.id,
                    state=record.state,
                    attempt=record.attempt + 1,
                    request=record.request,
                    created_at=record.created_at,
                ),
                Event.RETRY,
            )
            await tx.save(retry, lease_seconds=self._settings.lease_seconds)
            return retry
        if record.state in (State.COMPLETED, State.DECLINED, State.REFUNDED):
            return record
        if record.state is State.REQUIRES_ACTION:
            return record  # the retry asks the provider where the shopper got to
        if claimed.leased:
            raise Aborted("a checkout with this Idempotency-Key is still in progress; retry soon")
        # The previous worker stopped mid-way (crash, timeout): take over from its state.
        await tx.save(record, lease_seconds=self._settings.lease_seconds)
        return record

    async def _drive(self, store_id: int, start: Record) -> Outcome:
        """Steps the record until it rests. Each step returns the record it wrote, or None when
        another caller moved it first (then it is read again)."""
        record: Record | None = start
        for _ in range(STEP_LIMIT):
            if record is None:
                record = await self._read(store_id, start.id)
            state = record.state
            if state is State.COMPLETED and record.response is not None:
                return Replayed(record.response)
            if state in (State.DECLINED, State.FAILED, State.REFUNDED):
                raise stored_error(record)
            if state is State.PROCESSING:
                record = await self._reserve(store_id, record)
            elif state is State.RESERVED:
                record = await self._pay(store_id, record)
            elif state is State.REQUIRES_ACTION:
                payment = await self._ask(store_id, record)
                if payment.status == "requires_action":
                    return AwaitingAction(str(record.id), record.client_secret or "")
                record = await self.observe(store_id, record.id, payment)
            elif state is State.REFUNDING:
                record = await self._refund(store_id, record)
            else:
                record = None
        raise Unavailable("this checkout is still being processed; retry with the same key")

    # --- the recovery worker -----------------------------------------------------------------

    async def recover(self, store_id: int, record_id: uuid.UUID) -> None:
        """Finishes or undoes a checkout whose lease ran out. Its first worker may still be
        running: every step re-checks the state under the record's lock, so the two never
        do a step twice."""
        record = await self._read(store_id, record_id)
        if record.state is State.PROCESSING and self._now() - record.created_at > STALE_START:
            async with self._storage.transaction(store_id) as tx:
                current = await tx.get(record_id, lock=True)
                if current.state is State.PROCESSING:
                    stopped = FailedPrecondition("interrupted before reserving stock; retry")
                    await tx.save(
                        _move(
                            current,
                            Event.INTERRUPTED,
                            error_code=stopped.code,
                            error_message=stopped.message,
                        )
                    )
            return
        if record.state is State.REQUIRES_ACTION:
            # Its wait is over (that is why its lease ran out): cancel unless it was paid.
            payment = await self._ask(store_id, record)
            if payment.status == "requires_action":
                payment = await self._gateway.cancel(
                    self._account(record), record.payment_intent_id or ""
                )
            await self.observe(store_id, record.id, payment, expired=True)
            return
        try:
            await self._drive(store_id, record)
        except DomainError:
            pass  # the outcome is recorded; the shopper's retry replays it

    async def has_order(self, store_id: int, intent_id: str) -> bool:
        """Whether a payment already has its order (the usual case when Stripe's webhook for it
        arrives: the checkout itself placed it)."""
        async with self._storage.transaction(store_id) as tx:
            return await tx.order_for_intent(intent_id) is not None

    # --- steps ---------------------------------------------------------------------------------

    async def _read(self, store_id: int, record_id: uuid.UUID) -> Record:
        async with self._storage.transaction(store_id) as tx:
            return await tx.get(record_id)

    async def _reserve(self, store_id: int, record: Record) -> Record | None:
        refusal: DomainError | None = None
        wanted: dict[uuid.UUID, int] = {}
        try:
            cart, _ = await self._carts.get(store_id, record.request["cart_id"])
            for line in cart.lines:
                vid = uuid.UUID(line.variant_id)
                wanted[vid] = wanted.get(vid, 0) + line.quantity
            if not wanted:
                refusal = FailedPrecondition("the cart is empty")
        except NotFound as exc:
            refusal = exc
        try:
            return await self._reserve_in_tx(store_id, record, wanted, refusal)
        except _Undone as undone:
            # Priced after the stock was taken (the lines' current prices and weights) and
            # refused: that transaction rolled back, so nothing is held; record why.
            async with self._storage.transaction(store_id) as tx:
                current = await tx.get(record.id, lock=True)
                if current.state is not State.PROCESSING:
                    return None
                failed = _move(
                    current,
                    Event.NOT_RESERVED,
                    error_code=undone.refusal.code,
                    error_message=undone.refusal.message,
                )
                await tx.save(failed)
                return failed

    async def _reserve_in_tx(
        self,
        store_id: int,
        record: Record,
        wanted: dict[uuid.UUID, int],
        refusal: DomainError | None,
    ) -> Record | None:
        address = record.request["shipping_address"]
        async with self._storage.transaction(store_id) as tx:
            current = await tx.get(record.id, lock=True)
            if current.state is not State.PROCESSING:
                return None  # another caller got here first
            account = await tx.payments_account()
            if refusal is None and account.status != "active":
                # The edge already answers a suspended store's checkout with 503; this holds
                # for a call that raced the suspension, or one that reached the service.
                refusal = FailedPrecondition(
                    f"this store is {account.status} and cannot take orders; nothing was reserved"
                )
            if refusal is None and not (account.charges_enabled and account.stripe_account_id):
                refusal = FailedPrecondition("this store cannot accept payments yet")
            setup = None
            if refusal is None:
                # Where the store ships and the requested rate, checked before any stock is
                # taken: an address outside every zone reserves nothing.
                setup = await tx.pricing_setup(
                    address.get("country", ""),
                    address.get("region", ""),
                    record.request.get("shipping_rate_id", ""),
                )
                refusal = check_shipping(
                    setup,
                    address.get("country", ""),
                    address.get("region", ""),
                    record.request.get("shipping_rate_id", ""),
                )
            taken = None if refusal else await tx.take_stock(wanted)
            if isinstance(taken, Shortage):
                refusal = FailedPrecondition("cannot reserve: " + "; ".join(taken.problems))
            if refusal is not None or taken is None or isinstance(taken, Shortage) or not setup:
                refusal = refusal or FailedPrecondition("cannot reserve")
                failed = _move(
                    current,
                    Event.NOT_RESERVED,
                    error_code=refusal.code,
                    error_message=refusal.message,
                )
                await tx.save(failed)
                return failed
            lines, currency = taken
            priced = price_checkout(
                setup,
                [line.quantity * line.unit_price for line in lines],
                sum(line.quantity * line.weight_grams for line in lines),
                currency,
            )
            if isinstance(priced, FailedPrecondition):
                raise _Undone(priced)  # rolls the stock back with the transaction
            # The amount charged is the order's total, shipping and tax included.
            amount = priced.totals.total
            reserved = _move(
                current,
                Event.RESERVED,
                reserved_lines=lines,
                currency=currency,
                amount=amount,
                application_fee=platform_fee(account.plan, amount),
                payment_account=account.stripe_account_id,
                pricing=priced.snapshot(),
                # The create is sent next: from now on only ever with this attempt's key.
                intent_requested_at=self._now(),
            )
            await tx.save(reserved, lease_seconds=self._settings.lease_seconds)
            return reserved

    def _account(self, record: Record) -> str:
        return record.payment_account or ""

    async def _ask(self, store_id: int, record: Record) -> Payment:
        try:
            return await self._gateway.retrieve(
                self._account(record), record.payment_intent_id or ""
            )
        except PaymentUnavailable as exc:
            await self._release_lease(store_id, record)
            raise Unavailable(
                "the payment provider did not answer; retry with the same Idempotency-Key"
            ) from exc

    async def _pay(self, store_id: int, record: Record) -> Record | None:
        metadata = intent_metadata(store_id, str(record.id), record.attempt)
        try:
            if record.payment_intent_id:
                payment = await self._gateway.retrieve(
                    self._account(record), record.payment_intent_id
                )
            elif record.intent_requested_at and (
                self._now() - record.intent_requested_at > PROVIDER_KEY_WINDOW
            ):
                found = await self._gateway.find_recent(
                    self._account(record), metadata, record.created_at
                )
                if found is None:
                    await self._abandon(store_id, record)
                    return None
                payment = found
            else:
                record = await self._mark_requested(store_id, record)
                if record.state is not State.RESERVED:
                    return None
                payment = await self._create(store_id, record, metadata)
        except PaymentUnavailable as exc:
            await self._release_lease(store_id, record)
            raise Unavailable(
                "the payment provider did not answer; retry with the same Idempotency-Key"
            ) from exc
        except PaymentRefused as refused:
            await self._provider_fault(store_id, record, refused)
            return None
        return await self.observe(store_id, record.id, payment)

    async def _mark_requested(self, store_id: int, record: Record) -> Record:
        if record.intent_requested_at is not None:
            return record
        async with self._storage.transaction(store_id) as tx:
            current = await tx.get(record.id, lock=True)
            if current.state is State.RESERVED and current.intent_requested_at is None:
                current = current.moved(State.RESERVED, intent_requested_at=self._now())
                await tx.save(current)
            return current

    async def _create(self, store_id: int, record: Record, metadata: dict[str, str]) -> Payment:
        try:
            return await self._gateway.charge(
                account=self._account(record),
                amount=record.amount or 0,
                currency=record.currency or "",
                payment_method=record.request["payment_method"],
                application_fee=record.application_fee,
                idempotency_key=intent_key(store_id, str(record.id), record.attempt),
                metadata=metadata,
            )
        except PaymentUnavailable:
            # The key may be replaying a lost answer forever (a 500 is saved with the key):
            # the strongly consistent list tells whether the intent exists.
            sent = record.intent_requested_at or self._now()
            if self._now() - sent < LIST_LOOKUP_AFTER:
                raise
            found = await self._gateway.find_recent(
                self._account(record), metadata, record.created_at
            )
            if found is None:
                raise
            return found

    async def observe(
        self,
        store_id: int,
        record_id: uuid.UUID,
        payment: Payment,
        *,
        expired: bool = False,
        dedupe: Dedupe | None = None,
    ) -> Record | None:
        """What the provider says about one of this checkout's intents, from any caller; the
        record as this call left it (None: as another caller left it)."""
        if payment.status == "succeeded" and payment.intent_id:
            return await self.settle_succeeded(
                store_id, record_id, payment.intent_id, dedupe=dedupe
            )
        if payment.status == "requires_action":
            await self._await_action(store_id, record_id, payment, dedupe)
        elif payment.status in ("declined", "canceled"):
            await self._settle_declined(store_id, record_id, payment, expired, dedupe)
        else:
            record = await self._read(store_id, record_id)
            await self._release_lease(store_id, record)
            raise Unavailable("the payment is still processing; retry with the same key")
        return None

    async def _await_action(
        self, store_id: int, record_id: uuid.UUID, payment: Payment, dedupe: Dedupe | None
    ) -> None:
        async with self._storage.transaction(store_id) as tx:
            if dedupe and not await tx.first_time(*dedupe):
                return
            record = await tx.get(record_id, lock=True)
            if record.state is not State.RESERVED or record.payment_intent_id not in (
                None,
                payment.intent_id,
            ):
                return
            await tx.save(
                _move(
                    record,
                    Event.ACTION_REQUIRED,
                    payment_intent_id=payment.intent_id,
                    client_secret=payment.client_secret,
                ),
                lease_seconds=self._settings.requires_action_seconds,
            )

    async def _settle_declined(
        self,
        store_id: int,
        record_id: uuid.UUID,
        payment: Payment,
        expired: bool,
        dedupe: Dedupe | None,
    ) -> None:
        async with self._storage.transaction(store_id) as tx:
            if dedupe and not await tx.first_time(*dedupe):
                return
            record = await tx.get(record_id, lock=True)
            if record.state not in HOLDING_STOCK:
                return
            if record.payment_intent_id not in (None, payment.intent_id):
                return  # about an intent this checkout no longer waits for
            if expired and payment.status == "canceled":
                event, message = Event.ACTION_EXPIRED, "payment not completed in time"
            else:
                event = Event.DECLINED
                message = f"payment declined: {payment.message or 'the card was declined'}"
            await tx.return_stock(record.reserved_lines)
            await tx.save(
                _move(
                    record,
                    event,
                    payment_intent_id=payment.intent_id or record.payment_intent_id,
                    client_secret=None,
                    error_code=FailedPrecondition.code,
                    error_message=message,
                )
            )
        metrics.PAYMENT_DECLINES.labels(reason=payment.decline_code or payment.status).inc()

    async def settle_succeeded(
        self,
        store_id: int,
        record_id: uuid.UUID,
        intent_id: str,
        *,
        account: str | None = None,
        dedupe: Dedupe | None = None,
    ) -> Record | None:
        """A payment of this checkout succeeded: make sure it has exactly one order, or is
        refunded in full. Whoever calls first does it; later calls find it done. Returns the
        record as this call left it."""
        extra: str | None = None
        async with self._storage.transaction(store_id) as tx:
            if dedupe and not await tx.first_time(*dedupe):
                return None
            record = await tx.get(record_id, lock=True)
            if await tx.order_for_intent(intent_id) is not None:
                return record
            ours = record.payment_intent_id == intent_id or (
                record.payment_intent_id is None and record.intent_requested_at is not None
            )
            if not ours or record.state in (State.COMPLETED, State.PROCESSING):
                extra = account or record.payment_account
            elif record.state in (State.REFUNDING, State.REFUNDED):
                return record
            elif record.state in HOLDING_STOCK:
                record = await self._place(tx, record, intent_id, Event.PAID)
            else:  # DECLINED or FAILED: the stock went back; take it again or refund
                record = await self._place_late(tx, record, intent_id)
        if extra is not None:
            await self._refund_extra(store_id, record_id, intent_id, extra)
            return None
        if record.state is State.COMPLETED:
            await self._carts.delete(store_id, record.request["cart_id"])
        elif record.state is State.REFUNDING:
            return await self._refund(store_id, record)
        elif record.state in HOLDING_STOCK:
            raise Unavailable(
                "your payment was received and the order is being completed; retry with the"
                " same Idempotency-Key"
            )
        return record

    async def _place_late(self, tx: CheckoutTx, record: Record, intent_id: str) -> Record:
        wanted = {uuid.UUID(line.variant_id): line.quantity for line in record.reserved_lines}
        taken = await tx.take_stock(wanted) if wanted else Shortage(["nothing was reserved"])
        if isinstance(taken, Shortage):
            gone = FailedPrecondition(
                "your payment arrived after the items were released and they are no longer"
                " available; the payment was refunded in full"
            )
            log.warning(
                "checkout %s paid late (%s) and its stock is gone; refunding", record.id, intent_id
            )
            refunding = _move(
                record,
                Event.LATE_PAYMENT_REFUND,
                payment_intent_id=intent_id,
                error_code=gone.code,
                error_message=gone.message,
            )
            await tx.save(refunding, lease_seconds=0)
            return refunding
        placed = await self._place(tx, record, intent_id, Event.LATE_PAYMENT_PLACED)
        if placed.state is not State.COMPLETED:
            await tx.return_stock(record.reserved_lines)
        return placed

    async def _place(self, tx: CheckoutTx, record: Record, intent_id: str, event: Event) -> Record:
        """Writes the order; a failure is counted, and past the bound the payment is refunded.
        Returns the record as saved."""
        with_intent = record.moved(record.state, payment_intent_id=intent_id)
        try:
            order = await tx.place_order(with_intent, intent_id)
        except OrderNotWritten as exc:
            failures = record.finalize_failures + 1
            overdue = self._now() - record.created_at > FINALIZE_DEADLINE
            if failures < MAX_FINALIZE_FAILURES and not overdue:
                log.warning("order for checkout %s not written (%s); will retry", record.id, exc)
                failing = with_intent.moved(
                    record.state, finalize_failures=failures, last_error=str(exc)
                )
                await tx.save(failing, lease_seconds=0)
                return failing
            reference = uuid.uuid4().hex[:12]
            log.error(
                "ALERT checkout %s: payment %s succeeded but its order could not be written"
                " after %d tries (%s); refunding it in full (reference %s)",
                record.id,
                intent_id,
                failures,
                exc,
                reference,
            )
            metrics.FINALIZE_GAVE_UP.inc()
            if record.state in HOLDING_STOCK:
                await tx.return_stock(record.reserved_lines)
            failed = FailedPrecondition(
                f"we could not complete your order; your payment was refunded in full"
                f" (reference {reference})"
            )
            refunding = _move(
                with_intent,
                Event.FINALIZE_FAILED,
                finalize_failures=failures,
                last_error=str(exc),
                error_code=failed.code,
                error_message=failed.message,
            )
            await tx.save(refunding, lease_seconds=0)
            return refunding
        paid = Paid(str(record.id), order)
        completed = _move(
            with_intent,
            event,
            order_id=order.id,
            client_secret=None,
            response=self._encode(paid),
            error_code=None,
            error_message=None,
        )
        await tx.save(completed)
        return completed

    async def _refund(self, store_id: int, record: Record) -> Record | None:
        """REFUNDING → REFUNDED: the whole payment back to the shopper."""
        try:
            refund = await self._gateway.refund(
                self._account(record),
                record.payment_intent_id or "",
                None,
                f"shop:{store_id}:checkout:{record.id}:refund",
            )
        except PaymentRefused as refused:
            if refused.code != "charge_already_refunded":
                # E.g. disputed: the money is with the card network until the dispute closes.
                log.error(
                    "ALERT refund of checkout %s refused by the provider (%s); asking again in"
                    " an hour",
                    record.id,
                    refused.message,
                )
                await self._release_lease(store_id, record, seconds=REFUSED_REFUND_RETRY)
                raise Unavailable(
                    "your payment is being refunded; retry with the same key"
                ) from refused
            # Refunded in full already (the merchant did it in Stripe's Dashboard): done.
            refund = Refund("", "succeeded", record.amount or 0)
        except PaymentUnavailable as exc:
            await self._release_lease(store_id, record, seconds=self._settings.retry_seconds)
            raise Unavailable("your payment is being refunded; retry with the same key") from exc
        async with self._storage.transaction(store_id) as tx:
            current = await tx.get(record.id, lock=True)
            if current.state is not State.REFUNDING:
                return current
            refunded = _move(current, Event.REFUND_DONE, refund_id=refund.id or None)
            await tx.save(refunded)
        metrics.PAYMENTS_REFUNDED.labels(reason="unfulfillable").inc()
        return refunded

    async def refund_unknown(
        self, store_id: int, checkout_id: uuid.UUID, intent_id: str, account: str
    ) -> None:
        """A succeeded payment that names a checkout this store does not have (pruned after
        retention, or never made): nothing can become its order, so it is refunded in full."""
        await self._refund_extra(store_id, checkout_id, intent_id, account)

    async def _refund_extra(
        self, store_id: int, record_id: uuid.UUID, intent_id: str, account: str | None
    ) -> None:
        """A payment this checkout did not (or no longer) expect: it must not be kept."""
        try:
            refund = await self._gateway.refund(
                account or "", intent_id, None, f"shop:{store_id}:extra:{intent_id}"
            )
        except (PaymentUnavailable, PaymentRefused) as exc:
            log.error(
                "ALERT checkout %s: unexpected payment %s not refunded yet (%s)",
                record_id,
                intent_id,
                exc,
            )
            raise Unavailable("refunding an unexpected payment; the provider will retry") from exc
        log.error(
            "checkout %s: unexpected payment %s refunded in full (%s)",
            record_id,
            intent_id,
            refund.id,
        )
        metrics.PAYMENTS_REFUNDED.labels(reason="unexpected_intent").inc()

    async def _provider_fault(self, store_id: int, record: Record, refused: PaymentRefused) -> None:
        """Our request was refused and nothing was charged: stock back at once."""
        async with self._storage.transaction(store_id) as tx:
            current = await tx.get(record.id, lock=True)
            if current.state is not State.RESERVED:
                return
            await tx.return_stock(current.reserved_lines)
            error = (
                FailedPrecondition(refused.message)
                if refused.shopper_fixable
                else Unavailable(refused.message)
            )
            await tx.save(
                _move(
                    current,
                    Event.PROVIDER_FAULT,
                    error_code=error.code,
                    error_message=error.message,
                    last_error=f"provider refused (reference {refused.reference})",
                )
            )

    async def _abandon(self, store_id: int, record: Record) -> None:
        """Past the provider's key window no intent exists for this attempt: let the stock go
        (a payment turning up later is still placed or refunded)."""
        async with self._storage.transaction(store_id) as tx:
            current = await tx.get(record.id, lock=True)
            if current.state is not State.RESERVED or current.payment_intent_id:
                return
            await tx.return_stock(current.reserved_lines)
            gone = Unavailable("the payment could not be confirmed; nothing was charged; retry")
            await tx.save(
                _move(current, Event.ABANDONED, error_code=gone.code, error_message=gone.message)
            )

    async def _release_lease(self, store_id: int, record: Record, *, seconds: float = 0.0) -> None:
        """Unknown outcome: the next caller (a retry, or the recovery worker) takes over. A
        checkout waiting for 3-D Secure keeps its lease: it is the shopper's wait."""
        if record.state not in (State.RESERVED, State.REFUNDING):
            return
        async with self._storage.transaction(store_id) as tx:
            current = await tx.get(record.id, lock=True)
            if current.state is record.state:
                await tx.save(current, lease_seconds=seconds)
