"""What an order event changes in the sales rollups. Plain Python: no SQL or AMQP here.

Each order and each refund is identified by what it is (the order id; the refund id when the
event carries one, else the event's own key), not by the event that announced it: the same
refund announced twice (order.refunded and order.cancelled of a cancellation) or redelivered
counts once. Every change lands in the UTC quarter hour of its own business time (the order's
creation, the refund's recording), so late and out-of-order events add to the right bucket and
the sums do not depend on arrival order. Fields this module does not know are ignored."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

BUCKET_MINUTES = 15


@dataclass(frozen=True)
class Line:
    product_id: uuid.UUID | None  # None: an event from before product ids rode along
    variant_id: uuid.UUID | None
    title: str
    quantity: int
    total: int


@dataclass(frozen=True)
class OrderPlaced:
    order_id: uuid.UUID
    bucket: datetime
    gross: int
    lines: tuple[Line, ...]

    @property
    def units(self) -> int:
        return sum(line.quantity for line in self.lines)


@dataclass(frozen=True)
class RefundRecorded:
    key: str
    order_id: uuid.UUID | None
    amount: int
    bucket: datetime


@dataclass(frozen=True)
class RefundFailed:
    key: str
    order_id: uuid.UUID | None
    amount: int
    bucket: datetime


Change = OrderPlaced | RefundRecorded | RefundFailed


def bucket_of(moment: datetime) -> datetime:
    """The UTC quarter hour `moment` falls in."""
    utc = moment.astimezone(UTC)
    return utc.replace(minute=utc.minute - utc.minute % BUCKET_MINUTES, second=0, microsecond=0)


def _moment(raw: object) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _uuid(raw: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(raw)) if raw else None
    except ValueError:
        return None


def _int(raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ValueError(f"not an integer: {raw!r}")
    return int(raw)


def change_of(event: dict[str, Any]) -> Change | None:
    """The change an event makes, or None for events that change no sales figure. ValueError
    when an event it handles lacks what it needs (a poison message)."""
    kind = event.get("event")
    data = event.get("data") or {}
    sent = _moment(event.get("timestamp"))
    if kind == "order.created":
        order_id = _uuid(data.get("order_id"))
        placed = _moment(data.get("created_at")) or sent
        if order_id is None or placed is None:
            raise ValueError("order.created without order_id or a time")
        lines = tuple(
            Line(
                product_id=_uuid(line.get("product_id")),
                variant_id=_uuid(line.get("variant_id")),
                title=str(line.get("title") or "")[:255],
                quantity=_int(line.get("quantity", 0)),
                total=_int(line.get("total_minor", 0)),
            )
            for line in data.get("lines") or ()
        )
        return OrderPlaced(order_id, bucket_of(placed), _int(data.get("total_minor", 0)), lines)
    if kind in ("order.refunded", "order.cancelled", "order.refund_failed"):
        if sent is None:
            raise ValueError(f"{kind} without a timestamp")
        amount = _int(data.get("refunded_minor", 0))
        key = str(data.get("refund_id") or event.get("idempotencyKey") or "")
        if not key:
            raise ValueError(f"{kind} without a refund id or event key")
        order_id = _uuid(data.get("order_id"))
        if kind == "order.refund_failed":
            return RefundFailed(key, order_id, amount, bucket_of(sent))
        if amount <= 0:
            return None  # a cancellation with nothing left to refund
        return RefundRecorded(key, order_id, amount, bucket_of(sent))
    return None
