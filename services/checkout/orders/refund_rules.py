"""What an order makes of its payment's refunds, as plain Python: how a refund's status may move,
what the order's refunded amount and status are, which share of the platform fee each refund
returned, and which events a change is worth. No SQL, SDK or gRPC here.

Stripe is the authority on refunds: the orders room reads a payment's refunds from Stripe and
`reconcile` merges them into what the order recorded. Reads can arrive out of order (two
webhooks racing), so a refund's status only ever moves forward: pending → succeeded → failed."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from services.checkout.payments.rules import FeeState, Refund

# Metadata the platform puts on the refunds it makes, so their webhooks lead back to who made
# them; a refund without it was made on Stripe's side (the merchant's Dashboard).
MADE_BY = "made_by"
KIND = "kind"

COUNTED = frozenset({"pending", "requires_action", "succeeded"})  # money on its way back
ENDED = frozenset({"failed", "canceled"})  # no money returned; final
STATUSES = COUNTED | ENDED
_RANK = {"pending": 0, "requires_action": 0, "succeeded": 1, "failed": 2, "canceled": 2}


def refund_metadata(store_id: int, order_id: str, *, cancellation: bool) -> dict[str, str]:
    return {
        "store_id": str(store_id),
        "order_id": order_id,
        MADE_BY: "admin",
        KIND: "cancel" if cancellation else "refund",
    }


@dataclass(frozen=True)
class RecordedRefund:
    """One refund as the order keeps it."""

    stripe_id: str
    amount: int
    status: str
    source: str  # admin | stripe
    cancellation: bool = False
    failure_reason: str | None = None
    fee_refunded: int = 0
    stripe_created_at: datetime | None = None


@dataclass(frozen=True)
class OrderTotals:
    status: str
    total: int
    application_fee: int
    application_fee_refunded: int


@dataclass(frozen=True)
class Reconciled:
    """What the order becomes: every refund row (oldest first), the rows to write, the totals,
    and the refunds worth an event."""

    refunds: tuple[RecordedRefund, ...]
    changed: tuple[RecordedRefund, ...]
    inserted: frozenset[str]
    refunded: int
    status: str
    application_fee_refunded: int
    # Newly seen refunds returning money (order.refunded; a cancellation's is order.cancelled).
    appeared: tuple[RecordedRefund, ...] = ()
    # Refunds that no longer return money (order.refund_failed).
    failed: tuple[RecordedRefund, ...] = field(default_factory=tuple)


def known_status(status: str) -> str:
    """A status this code does not know (a newer API version) counts as pending: the money is
    treated as on its way back until Stripe says it failed."""
    return status if status in STATUSES else "pending"


def advance(recorded: str, seen: str) -> str:
    """The status a refund moves to when Stripe is seen to say `seen`: never backwards, and
    never out of an end state (a stale read racing a newer one must not undo it)."""
    seen = known_status(seen)
    if recorded in ENDED:
        return recorded
    return seen if _RANK[seen] >= _RANK.get(recorded, 0) else recorded


def order_status(current: str, total: int, refunded: int) -> str:
    if current == "cancelled":
        return "cancelled"  # a cancellation stays one, whatever later happens to its refund
    if refunded <= 0:
        return "paid"
    return "refunded" if refunded >= total else "partially_refunded"


def stripe_fee_share(
    fee: int, fee_refunded_before: int, captured: int, refunded_after: int, amount: int
) -> int:
    """The fee Stripe returns with a refund of `amount` (refund_application_fee=true): in
    proportion to the share of the charge refunded, rounded half up, and whatever is left once
    the charge is refunded in full. Used only when the fee object cannot be read."""
    left = max(fee - fee_refunded_before, 0)
    if refunded_after >= captured:
        return left
    return min(left, (2 * fee * amount + captured) // (2 * captured))


def _from_stripe(refund: Refund) -> RecordedRefund:
    made_here = refund.metadata.get(MADE_BY) == "admin"
    return RecordedRefund(
        stripe_id=refund.id,
        amount=refund.amount,
        status=known_status(refund.status),
        source="admin" if made_here else "stripe",
        cancellation=made_here and refund.metadata.get(KIND) == "cancel",
        failure_reason=refund.failure_reason,
        stripe_created_at=refund.created_at,
    )


def _spread(amount: int, rows: list[RecordedRefund]) -> dict[str, int]:
    """`amount` split over `rows` in proportion to their amounts, the remainder to the last."""
    weight = sum(r.amount for r in rows)
    shares = {r.stripe_id: amount * r.amount // weight for r in rows}
    shares[rows[-1].stripe_id] += amount - sum(shares.values())
    return shares


def _fees(
    totals: OrderTotals, rows: list[RecordedRefund], new: set[str], fee: FeeState | None
) -> tuple[dict[str, int], int]:
    """Each row's fee share and the order's total fee refunded.

    With Stripe's fee object: its `amount_refunded` is the total (it never shrinks); what the
    rows do not account for yet was returned by the refunds seen for the first time now (or,
    with none, by the newest). Without it: Stripe's rule for the refunds the platform made
    (it always asks for the fee back); a Stripe-side refund's share stays 0 until the fee
    object can be read (Stripe returns a Dashboard refund's fee only if asked)."""
    shares = {r.stripe_id: r.fee_refunded for r in rows}
    if not totals.application_fee or not rows:
        return shares, totals.application_fee_refunded
    if fee is not None:
        total = min(max(totals.application_fee_refunded, fee.amount_refunded), fee.amount)
        excess = total - sum(shares.values())
        if excess > 0:
            targets = [r for r in rows if r.stripe_id in new] or [rows[-1]]
            for stripe_id, share in _spread(excess, targets).items():
                shares[stripe_id] += share
        return shares, total
    refunded = 0
    fee_refunded = sum(shares.values())
    for row in rows:
        if row.status in COUNTED:
            refunded += row.amount
        if row.stripe_id in new and row.source == "admin":
            share = stripe_fee_share(
                totals.application_fee, fee_refunded, totals.total, refunded, row.amount
            )
            shares[row.stripe_id] = share
            fee_refunded += share
    return shares, max(totals.application_fee_refunded, min(fee_refunded, totals.application_fee))


def reconcile(
    totals: OrderTotals,
    recorded: list[RecordedRefund],
    seen: list[Refund],
    fee: FeeState | None,
    *,
    final_status: str | None = None,
) -> Reconciled:
    """Merges the refunds Stripe reports (`seen`, newest first) into those recorded.
    `final_status` is an admin action's own outcome for the order (a cancellation)."""
    by_id = {r.stripe_id: r for r in recorded}
    order = [r.stripe_id for r in recorded]
    new: set[str] = set()
    appeared: list[RecordedRefund] = []
    failed: list[RecordedRefund] = []
    # `seen` is newest first, as Stripe lists; oldest first here, ties kept in Stripe's order.
    oldest_first = sorted(reversed(seen), key=lambda r: (r.created_at is None, r.created_at or 0))
    for refund in oldest_first:
        incoming = _from_stripe(refund)
        before = by_id.get(refund.id)
        if before is None:
            by_id[refund.id] = incoming
            order.append(refund.id)
            new.add(refund.id)
            if incoming.status in COUNTED and not incoming.cancellation:
                appeared.append(incoming)
            elif incoming.status in ENDED:
                failed.append(incoming)
            continue
        status = advance(before.status, incoming.status)
        after = replace(
            before,
            status=status,
            failure_reason=incoming.failure_reason or before.failure_reason,
            stripe_created_at=before.stripe_created_at or incoming.stripe_created_at,
        )
        if before.status in COUNTED and status in ENDED:
            failed.append(after)
        by_id[refund.id] = after
    rows = [by_id[i] for i in order]
    shares, fee_total = _fees(totals, rows, new, fee)
    rows = [replace(r, fee_refunded=shares[r.stripe_id]) for r in rows]
    before_by_id = {r.stripe_id: r for r in recorded}
    changed = tuple(r for r in rows if before_by_id.get(r.stripe_id) != r)
    refunded = min(sum(r.amount for r in rows if r.status in COUNTED), totals.total)
    final = {r.stripe_id: r for r in rows}
    return Reconciled(
        refunds=tuple(rows),
        changed=changed,
        inserted=frozenset(new),
        refunded=refunded,
        status=order_status(final_status or totals.status, totals.total, refunded),
        application_fee_refunded=fee_total,
        appeared=tuple(final[r.stripe_id] for r in appeared),
        failed=tuple(final[r.stripe_id] for r in failed),
    )
