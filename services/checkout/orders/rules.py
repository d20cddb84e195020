"""What an order is. Plain Python: no gRPC, SQL or Stripe here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

FIRST_ORDER_NUMBER = 1001


@dataclass(frozen=True)
class OrderLine:
    variant_id: str
    product_id: str
    sku: str | None
    title: str
    quantity: int
    unit_price: int
    refunded_quantity: int
    # This line's tax (inside unit_price x quantity when the order's prices include tax).
    tax: int = 0
    fulfilled_quantity: int = 0


@dataclass(frozen=True)
class OrderRefund:
    """One refund of the order's payment, as recorded from Stripe."""

    stripe_id: str
    amount: int
    status: str  # pending | requires_action | succeeded | failed | canceled
    source: str  # admin (the platform's API) | stripe (made on Stripe's side)
    cancellation: bool
    failure_reason: str | None
    # The share of the order's application fee this refund returned to the store.
    fee_refunded: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Order:
    id: uuid.UUID
    number: int
    status: str
    email: str
    currency: str
    total: int
    refunded: int
    shipping_address: dict[str, Any]
    billing_address: dict[str, Any]
    payment_intent_id: str
    lines: tuple[OrderLine, ...]
    created_at: datetime
    updated_at: datetime
    checkout_id: uuid.UUID | None = None
    # The platform's fee on the payment (Stripe's application fee), in the order's currency.
    application_fee: int = 0
    # The connected account the payment was made on (refunds go there too).
    payment_account: str | None = None
    # The part of application_fee that refunds returned (Stripe's application fee object).
    application_fee_refunded: int = 0
    refunds: tuple[OrderRefund, ...] = ()
    # The latest dispute's status (dispute_rules.STATUSES); None if never disputed.
    dispute_status: str | None = None
    # How many refunds the admin API has made (the next one's Stripe idempotency key).
    admin_refunds: int = 0
    # The store's customer with this order's email (None for an order never linked).
    customer_id: uuid.UUID | None = None
    # The itemised order: subtotal + shipping + tax - discount = total (a database CHECK).
    subtotal: int = 0
    shipping: int = 0
    tax: int = 0
    discount: int = 0
    prices_include_tax: bool = False
    payment_status: str = "paid"
    fulfillment_status: str = "unfulfilled"
    shipping_rate_id: str | None = None
    shipping_rate_name: str | None = None

    @property
    def disputed(self) -> bool:
        return self.dispute_status is not None


def payment_status(status: str, total: int, refunded: int) -> str:
    """payment_status from the order's status and refunded amount: a cancellation that
    returned nothing voided the payment."""
    if refunded <= 0:
        return "voided" if status == "cancelled" else "paid"
    return "refunded" if refunded >= total else "partially_refunded"
