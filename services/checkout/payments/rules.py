"""What the checkout needs from a payment provider, as plain Python: the outcome of an intent,
the provider's interface (Stripe's adapter is `gateway.StripeGateway`; unit tests use an
in-memory one), and the idempotency keys the server derives. No SDK or I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Payment:
    """What the provider says about a PaymentIntent, now."""

    status: str  # succeeded | requires_action | declined | pending | canceled
    intent_id: str | None = None
    client_secret: str | None = None
    decline_code: str | None = None
    message: str | None = None
    amount: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Refund:
    """A refund as the provider reports it, now."""

    id: str
    status: str  # pending | succeeded | failed | canceled | requires_action
    amount: int
    charge: str | None = None
    currency: str | None = None
    failure_reason: str | None = None
    created_at: datetime | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FeeState:
    """The platform's application fee on a charge: what was taken and how much refunds
    returned so far (the provider's figure; it only ever grows)."""

    id: str
    amount: int
    amount_refunded: int


@dataclass(frozen=True)
class Dispute:
    """A dispute (chargeback) as the provider reports it, now."""

    id: str
    status: str
    amount: int
    currency: str
    payment_intent: str | None
    charge: str | None
    reason: str | None = None
    evidence_due_by: datetime | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class Payout:
    """A payout to the store's bank account as the provider reports it, now."""

    id: str
    status: str  # pending | in_transit | paid | failed | canceled
    amount: int
    currency: str
    arrival_date: datetime | None = None
    failure_code: str | None = None
    failure_message: str | None = None


class PaymentUnavailable(Exception):
    """The provider could not be reached (or is still working) and the outcome is unknown:
    ask again later with the same idempotency key."""


class PaymentRefused(Exception):
    """The provider refused our request itself (invalid parameters, a revoked account, a bad
    key, an idempotency conflict): nothing was charged. `reference` is in the log line that
    has the provider's full answer; `shopper_fixable` marks a refusal the shopper can fix
    (an amount below the provider's minimum)."""

    def __init__(
        self,
        message: str,
        reference: str,
        *,
        shopper_fixable: bool = False,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reference = reference
        self.shopper_fixable = shopper_fixable
        # The provider's error code, where it tells the caller something (e.g. a refund of a
        # payment that is already refunded in full).
        self.code = code


def intent_key(store_id: int, record_id: str, attempt: int) -> str:
    """Derived from the store and the checkout record, never from the client's key, so two
    stores (or two checkouts) can never share a provider-side idempotency key. The attempt
    moves only once the provider has said the previous attempt's intent failed."""
    return f"shop:{store_id}:checkout:{record_id}:{attempt}:pi"


def intent_metadata(store_id: int, record_id: str, attempt: int) -> dict[str, str]:
    """What every intent carries, so any event about it leads back to its checkout."""
    return {"store_id": str(store_id), "checkout_id": record_id, "attempt": str(attempt)}


class PaymentGateway(Protocol):
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
        """Creates and confirms an intent. Raises PaymentUnavailable (unknown outcome) or
        PaymentRefused (nothing charged)."""

    async def retrieve(self, account: str, intent_id: str) -> Payment: ...

    async def find_recent(
        self, account: str, metadata: dict[str, str], since: datetime
    ) -> Payment | None:
        """The intent carrying `metadata`, looked up in the provider's strongly consistent
        list of intents created since `since` (never its lagging search)."""

    async def cancel(self, account: str, intent_id: str) -> Payment: ...

    async def refund(
        self,
        account: str,
        intent_id: str,
        amount: int | None,
        idempotency_key: str,
        metadata: dict[str, str] | None = None,
    ) -> Refund:
        """Refunds `amount` (None: all that is left), returning the platform fee in
        proportion. `metadata` rides on the refund, so its webhooks lead back to who made it.
        Raises PaymentUnavailable (unknown outcome) or PaymentRefused (nothing refunded)."""
