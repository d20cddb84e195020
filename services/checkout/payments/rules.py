"""What the checkout needs from a payment provider, as plain Python: the outcome of an intent,
the provider's interface (Stripe's adapter is `gateway.StripeGateway`; unit tests use an
in-memory one), and the idempotency key the server derives. No SDK or I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Payment:
    """What the provider says about a checkout's PaymentIntent."""

    status: str  # succeeded | requires_action | declined | pending | canceled
    intent_id: str | None = None
    client_secret: str | None = None
    decline_code: str | None = None
    message: str | None = None


class PaymentUnavailable(Exception):
    """The provider could not be reached and the intent's fate is unknown: try again later."""


def intent_key(store_id: int, record_id: str, attempt: int) -> str:
    """Derived from the store and the checkout record, never from the client's key, so two
    stores (or two checkouts) can never share a provider-side idempotency key."""
    return f"shop:{store_id}:checkout:{record_id}:{attempt}:pi"


class PaymentGateway(Protocol):
    async def charge(
        self,
        *,
        account: str,
        amount: int,
        currency: str,
        payment_method: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> Payment: ...

    async def find(self, account: str, checkout_id: str) -> Payment | None: ...

    async def retrieve(self, account: str, intent_id: str) -> Payment: ...

    async def cancel(self, account: str, intent_id: str) -> Payment: ...

    async def refund(
        self, account: str, intent_id: str, amount: int, idempotency_key: str
    ) -> str: ...
