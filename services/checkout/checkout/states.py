"""The checkout as one explicit state machine. Plain Python: no gRPC, SQL or Stripe here.

Three callers drive it and may race: the shopper retrying with the same Idempotency-Key, Stripe's
webhook, and the recovery worker. Each of them re-reads the record under a row lock, asks
`next_state` whether what it saw moves the record, and writes the move in the same transaction
as its effect; an event that does not apply to the current state changes nothing, so a step
run twice does nothing the second time.

    PROCESSING ──reserved──▶ RESERVED ──paid──▶ COMPLETED
        │                      │  ▲ │ ╲action_required
        │not_reserved,         │  │ │  ╲▶ REQUIRES_ACTION ──paid──▶ COMPLETED
        │interrupted           │  └─unknown       │ declined, action_expired
        ▼                      │declined          ▼
      FAILED ◀──provider_fault─┤────────────▶ DECLINED
        │  ▲     abandoned─────┘                 │
        │  └──────────────────────────────┐      │late payment (an intent succeeded after the
        │retry → PROCESSING (same key)    │      │stock went back): placed again, or refunded
        └─late_payment_placed → COMPLETED ┘      ▼
                   late_payment_refund ──▶ REFUNDING ──refund_done──▶ REFUNDED
    finalize_failed (the order cannot be written, bounded tries) ──▶ REFUNDING

Money rule the table encodes: every path out of a state that may hold a succeeded payment ends
in COMPLETED (an order) or REFUNDED (the money returned); none ends in FAILED or DECLINED while
a payment stands."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    PROCESSING = "processing"  # claimed; nothing held yet
    RESERVED = "reserved"  # stock held; the payment is being made (its outcome may be unknown)
    REQUIRES_ACTION = "requires_action"  # the intent waits for the shopper (3-D Secure)
    COMPLETED = "completed"  # the order exists; its response is stored (final)
    DECLINED = "declined"  # the payment was refused; stock back; replayed as final
    FAILED = "failed"  # nothing held, no money taken; the same key may try again
    REFUNDING = "refunding"  # paid but not fulfillable; the full refund is under way
    REFUNDED = "refunded"  # paid and refunded in full; replayed as final


class Event(StrEnum):
    RESERVED = "reserved"  # stock decremented for every line
    NOT_RESERVED = "not_reserved"  # empty cart, stock short, not for sale
    INTERRUPTED = "interrupted"  # the worker stopped before reserving (lease ran out)
    PAID = "paid"  # the intent succeeded and the order was written
    ACTION_REQUIRED = "action_required"  # the intent needs 3-D Secure
    DECLINED = "declined"  # the provider refused the payment (or it was cancelled)
    ACTION_EXPIRED = "action_expired"  # 3-D Secure not finished in time; intent cancelled
    PROVIDER_FAULT = "provider_fault"  # our request was refused (invalid, permission, auth)
    UNKNOWN = "unknown"  # no answer: ask again with the same provider key later
    ABANDONED = "abandoned"  # no intent exists after the provider's key window: let go
    FINALIZE_FAILED = "finalize_failed"  # the order could not be written, tries exhausted
    LATE_PAYMENT_PLACED = "late_payment_placed"  # paid after release; stock re-taken; order
    LATE_PAYMENT_REFUND = "late_payment_refund"  # paid after release; stock gone; refund
    REFUND_DONE = "refund_done"  # the provider confirmed the full refund
    RETRY = "retry"  # the shopper tries again with the same key after a retryable failure


S, E = State, Event

TRANSITIONS: dict[tuple[State, Event], State] = {
    (S.PROCESSING, E.RESERVED): S.RESERVED,
    (S.PROCESSING, E.NOT_RESERVED): S.FAILED,
    (S.PROCESSING, E.INTERRUPTED): S.FAILED,
    (S.RESERVED, E.PAID): S.COMPLETED,
    (S.RESERVED, E.ACTION_REQUIRED): S.REQUIRES_ACTION,
    (S.RESERVED, E.DECLINED): S.DECLINED,
    (S.RESERVED, E.PROVIDER_FAULT): S.FAILED,
    (S.RESERVED, E.UNKNOWN): S.RESERVED,
    (S.RESERVED, E.ABANDONED): S.FAILED,
    (S.RESERVED, E.FINALIZE_FAILED): S.REFUNDING,
    (S.REQUIRES_ACTION, E.PAID): S.COMPLETED,
    (S.REQUIRES_ACTION, E.ACTION_REQUIRED): S.REQUIRES_ACTION,
    (S.REQUIRES_ACTION, E.DECLINED): S.DECLINED,
    (S.REQUIRES_ACTION, E.ACTION_EXPIRED): S.DECLINED,
    (S.REQUIRES_ACTION, E.UNKNOWN): S.REQUIRES_ACTION,
    (S.REQUIRES_ACTION, E.FINALIZE_FAILED): S.REFUNDING,
    (S.DECLINED, E.LATE_PAYMENT_PLACED): S.COMPLETED,
    (S.DECLINED, E.LATE_PAYMENT_REFUND): S.REFUNDING,
    (S.FAILED, E.RETRY): S.PROCESSING,
    (S.FAILED, E.LATE_PAYMENT_PLACED): S.COMPLETED,
    (S.FAILED, E.LATE_PAYMENT_REFUND): S.REFUNDING,
    (S.REFUNDING, E.UNKNOWN): S.REFUNDING,
    (S.REFUNDING, E.REFUND_DONE): S.REFUNDED,
}

# Where a checkout rests: nothing more happens unless a payment turns up late (DECLINED,
# FAILED) or the shopper retries (FAILED).
FINAL = frozenset({S.COMPLETED, S.DECLINED, S.FAILED, S.REFUNDED})
# States in which stock is held for the checkout.
HOLDING_STOCK = frozenset({S.RESERVED, S.REQUIRES_ACTION})
# States a worker owns under a lease (the recovery worker takes them over when it runs out).
LEASED = frozenset({S.PROCESSING, S.RESERVED, S.REQUIRES_ACTION, S.REFUNDING})


def next_state(state: State, event: Event) -> State | None:
    """The state `event` moves `state` to, or None when it does not apply (nothing to do)."""
    return TRANSITIONS.get((state, event))


def reachable(start: State) -> set[State]:
    """Every state some sequence of events leads to from `start` (itself included)."""
    seen = {start}
    frontier = [start]
    while frontier:
        here = frontier.pop()
        for (source, _), target in TRANSITIONS.items():
            if source is here and target not in seen:
                seen.add(target)
                frontier.append(target)
    return seen
