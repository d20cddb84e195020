"""Fulfillment as plain Python: what may still be shipped of an order, what a request ships,
the order's fulfillment_status, and valid tracking. No SQL here.

A unit may be shipped once: never more than ordered minus refunded minus already fulfilled
(by fulfillments not cancelled), and never anything of a cancelled order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from services.checkout.orders.rules import OrderLine
from services.common.errors import FailedPrecondition, InvalidArgument, Validator

MAX_TRACKING_FIELD = 100
MAX_TRACKING_URL = 2048


@dataclass(frozen=True)
class Tracking:
    company: str = ""
    number: str = ""
    url: str = ""


def remaining(line: OrderLine) -> int:
    return max(line.quantity - line.refunded_quantity - line.fulfilled_quantity, 0)


def to_ship(
    order_status: str, lines: Sequence[OrderLine], requested: Sequence[tuple[str, int]]
) -> dict[int, int]:
    """{order line number (1-based): quantity} this fulfillment ships. No lines requested:
    everything still unfulfilled."""
    if order_status == "cancelled":
        raise FailedPrecondition("this order is cancelled; nothing can be fulfilled")
    numbered = {line.variant_id: (n, line) for n, line in enumerate(lines, 1)}
    plan: dict[int, int] = {}
    if not requested:
        plan = {n: remaining(line) for n, line in enumerate(lines, 1) if remaining(line) > 0}
        if not plan:
            raise FailedPrecondition("every item of this order is fulfilled or refunded already")
        return plan
    v = Validator()
    for i, (variant_id, quantity) in enumerate(requested):
        found = numbered.get(variant_id)
        if found is None:
            v.fail(f"lines[{i}].variant_id", "is not in this order")
            continue
        n, line = found
        left = remaining(line) - plan.get(n, 0)
        if not 1 <= quantity <= left:
            v.fail(
                f"lines[{i}].quantity",
                f"must be 1 to {left} (ordered, minus refunded, minus already fulfilled)",
            )
            continue
        plan[n] = plan.get(n, 0) + quantity
    if v.violations:
        raise InvalidArgument(v.violations)
    return plan


def fulfillment_status(lines: Sequence[OrderLine]) -> str:
    """fulfilled once every unit not refunded is shipped; partially_fulfilled once any is."""
    shipped = sum(line.fulfilled_quantity for line in lines)
    if shipped == 0:
        return "unfulfilled"
    if all(remaining(line) == 0 for line in lines):
        return "fulfilled"
    return "partially_fulfilled"


def validate_tracking(tracking: Tracking) -> Tracking:
    t = Tracking(tracking.company.strip(), tracking.number.strip(), tracking.url.strip())
    v = Validator()
    v.check(len(t.company) <= MAX_TRACKING_FIELD, "tracking.company", "at most 100 characters")
    v.check(len(t.number) <= MAX_TRACKING_FIELD, "tracking.number", "at most 100 characters")
    if t.url:
        parts = urlsplit(t.url)
        v.check(
            len(t.url) <= MAX_TRACKING_URL
            and parts.scheme in ("https", "http")
            and bool(parts.netloc),
            "tracking.url",
            "must be an http(s) link of at most 2048 characters",
        )
    v.raise_if_any()
    return t
