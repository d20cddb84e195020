"""What a cart is and how its lines change. Plain Python: no gRPC, SQL or Redis here.

A cart stores only variant ids and quantities; prices, titles and availability are read from
the catalog every time it is shown (`PricedLine`), never taken from the client."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from services.common.errors import InvalidArgument, NotFound

MAX_LINES = 100
MAX_QUANTITY = 999


@dataclass
class StoredLine:
    id: str
    variant_id: str
    quantity: int


@dataclass
class StoredCart:
    id: str
    lines: list[StoredLine] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(
            {"id": self.id, "lines": [line.__dict__ for line in self.lines]},
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> StoredCart:
        data = json.loads(raw)
        return cls(data["id"], [StoredLine(**line) for line in data["lines"]])


@dataclass(frozen=True)
class PricedLine:
    id: str
    variant_id: str
    product_id: str
    sku: str | None
    title: str
    quantity: int
    unit_price: int
    currency: str
    available: bool

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class CartView:
    """A cart as the shopper sees it: priced now, with its expiry."""

    id: str
    lines: list[PricedLine]
    expires_at: datetime

    @property
    def currency(self) -> str:
        return next((line.currency for line in self.lines if line.currency), "")

    @property
    def subtotal(self) -> int:
        return sum(line.total for line in self.lines if line.available)

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)


class CartSource(Protocol):
    """Where the checkout reads a cart from (Redis: cart.store.CartStore)."""

    async def get(self, store_id: int, cart_id: str) -> tuple[StoredCart, int]: ...

    async def delete(self, store_id: int, cart_id: str) -> None: ...


def unavailable_line(line: StoredLine) -> PricedLine:
    """A line whose variant is gone from the catalog since it was added."""
    return PricedLine(
        line.id, line.variant_id, "", None, "unavailable", line.quantity, 0, "", False
    )


def check_quantity(quantity: int, field_name: str = "quantity") -> None:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidArgument.field(field_name, f"must be between 1 and {MAX_QUANTITY}")


def check_size(cart: StoredCart) -> None:
    if len(cart.lines) > MAX_LINES:
        raise InvalidArgument.field("variant_id", f"a cart holds at most {MAX_LINES} lines")


def new_cart() -> StoredCart:
    return StoredCart(uuid.uuid4().hex)


def add_line(cart: StoredCart, variant_id: str, quantity: int) -> None:
    for line in cart.lines:
        if line.variant_id == variant_id:
            check_quantity(line.quantity + quantity)
            line.quantity += quantity
            return
    cart.lines.append(StoredLine(uuid.uuid4().hex[:12], variant_id, quantity))


def line_by_id(cart: StoredCart, line_id: str) -> StoredLine:
    for line in cart.lines:
        if line.id == line_id:
            return line
    raise NotFound("no line with this id in the cart")
