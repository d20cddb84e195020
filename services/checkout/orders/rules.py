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
