"""An order's refunds merged from what Stripe reports (refund_rules) and its disputes'
statuses (dispute_rules): pure rules, no servers."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from services.checkout.orders import dispute_rules
from services.checkout.orders.refund_rules import (
    COUNTED,
    STATUSES,
    OrderTotals,
    RecordedRefund,
    advance,
    order_status,
    reconcile,
    refund_metadata,
    stripe_fee_share,
)
from services.checkout.payments.rules import FeeState, Refund

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ADMIN = refund_metadata(7, "order-1", cancellation=False)
CANCEL = refund_metadata(7, "order-1", cancellation=True)


def refund(rid: str, amount: int, status: str = "succeeded", minute: int = 0, **kw) -> Refund:
    return Refund(
        rid, status, amount, charge="ch_1", created_at=T0 + timedelta(minutes=minute), **kw
    )


def totals(status: str = "paid", total: int = 10_000, fee: int = 250, fee_refunded: int = 0):
    return OrderTotals(status, total, fee, fee_refunded)


@pytest.mark.parametrize(("recorded", "seen"), list(itertools.product(sorted(STATUSES), repeat=2)))
def test_a_status_never_moves_backwards_or_out_of_an_end(recorded: str, seen: str):
    rank = {"pending": 0, "requires_action": 0, "succeeded": 1, "failed": 2, "canceled": 2}
    moved = advance(recorded, seen)
    if recorded in ("failed", "canceled"):
        assert moved == recorded
    else:
        assert rank[moved] >= rank[recorded]
        assert moved == (seen if rank[seen] >= rank[recorded] else recorded)


def test_an_unknown_status_counts_as_pending():
    assert advance("pending", "some_new_status") == "pending"
    assert advance("succeeded", "some_new_status") == "succeeded"


@pytest.mark.parametrize(
    ("current", "refunded", "expected"),
    [
        ("paid", 0, "paid"),
        ("partially_refunded", 0, "paid"),
        ("paid", 1, "partially_refunded"),
        ("paid", 10_000, "refunded"),
        ("refunded", 4_000, "partially_refunded"),
        ("cancelled", 0, "cancelled"),
        ("cancelled", 10_000, "cancelled"),
    ],
)
def test_order_status_follows_the_refunded_amount(current, refunded, expected):
    assert order_status(current, 10_000, refunded) == expected


def test_a_stripe_side_refund_appears_once_and_counts():
    first = reconcile(totals(), [], [refund("re_1", 3_000)], FeeState("fee_1", 250, 75))
    assert first.refunded == 3_000 and first.status == "partially_refunded"
    assert [r.stripe_id for r in first.appeared] == ["re_1"]
    assert first.appeared[0].source == "stripe" and first.inserted == {"re_1"}
    assert first.refunds[0].fee_refunded == 75 and first.application_fee_refunded == 75
    again = reconcile(totals(fee_refunded=75), list(first.refunds), [refund("re_1", 3_000)], None)
    assert again.appeared == () and again.failed == () and again.changed == ()
    assert again.refunded == 3_000


def test_refunds_made_here_are_marked_by_their_metadata():
    plan = reconcile(
        totals(),
        [],
        [refund("re_a", 1_000, metadata=ADMIN), refund("re_c", 9_000, minute=1, metadata=CANCEL)],
        None,
    )
    by_id = {r.stripe_id: r for r in plan.refunds}
    assert by_id["re_a"].source == "admin" and not by_id["re_a"].cancellation
    assert by_id["re_c"].source == "admin" and by_id["re_c"].cancellation
    # A cancellation's refund is announced by order.cancelled, not order.refunded.
    assert [r.stripe_id for r in plan.appeared] == ["re_a"]


def test_pending_counts_failed_does_not_and_is_announced_once():
    recorded = reconcile(totals(), [], [refund("re_1", 4_000, "pending")], None)
    assert recorded.refunded == 4_000 and "pending" in COUNTED
    failed = reconcile(
        totals(status=recorded.status),
        list(recorded.refunds),
        [refund("re_1", 4_000, "failed", failure_reason="expired_or_canceled_card")],
        None,
    )
    assert failed.refunded == 0 and failed.status == "paid"
    assert [(r.stripe_id, r.failure_reason) for r in failed.failed] == [
        ("re_1", "expired_or_canceled_card")
    ]
    # A stale read (the refund still pending) arriving after the failure changes nothing.
    stale = reconcile(totals(), list(failed.refunds), [refund("re_1", 4_000, "pending")], None)
    assert stale.changed == () and stale.failed == () and stale.refunded == 0


def test_a_refund_first_seen_failed_is_not_announced_as_a_refund():
    plan = reconcile(totals(), [], [refund("re_1", 4_000, "failed")], None)
    assert plan.appeared == () and [r.stripe_id for r in plan.failed] == ["re_1"]
    assert plan.refunded == 0


def test_a_cancelled_order_stays_cancelled_when_its_refund_fails():
    recorded = [RecordedRefund("re_c", 10_000, "succeeded", "admin", cancellation=True)]
    plan = reconcile(totals(status="cancelled"), recorded, [refund("re_c", 10_000, "failed")], None)
    assert plan.status == "cancelled" and plan.refunded == 0 and len(plan.failed) == 1


def test_fee_shares_follow_stripes_fee_object():
    fee = FeeState("fee_1", 250, 100)
    plan = reconcile(totals(), [], [refund("re_1", 2_000), refund("re_2", 2_000, minute=1)], fee)
    # Two refunds seen at once share what the fee object says in proportion to their amounts.
    assert [r.fee_refunded for r in plan.refunds] == [50, 50]
    assert plan.application_fee_refunded == 100
    # The fee figure never shrinks, and never exceeds the fee.
    later = reconcile(totals(fee_refunded=100), list(plan.refunds), [], FeeState("fee_1", 250, 40))
    assert later.application_fee_refunded == 100


def test_without_the_fee_object_the_platforms_own_refunds_use_stripes_rule():
    plan = reconcile(
        totals(), [], [refund("re_1", 3_333, metadata=ADMIN), refund("re_2", 500, minute=1)], None
    )
    by_id = {r.stripe_id: r for r in plan.refunds}
    assert by_id["re_1"].fee_refunded == stripe_fee_share(250, 0, 10_000, 3_333, 3_333) == 83
    assert by_id["re_2"].fee_refunded == 0  # a Dashboard refund may not have returned any
    assert plan.application_fee_refunded == 83


@pytest.mark.parametrize(
    ("fee", "before", "captured", "after", "amount", "share"),
    [
        (250, 0, 10_000, 4_000, 4_000, 100),
        (6, 0, 2_500, 1_000, 1_000, 2),  # 2.4 rounds down
        (6, 0, 2_500, 1_250, 1_250, 3),
        (5, 0, 1_000, 300, 300, 2),  # 1.5 rounds up
        (250, 100, 10_000, 10_000, 6_000, 150),  # the last refund takes what is left
        (250, 250, 10_000, 10_000, 1, 0),
    ],
)
def test_stripes_proportional_fee_rule(fee, before, captured, after, amount, share):
    assert stripe_fee_share(fee, before, captured, after, amount) == share


def test_no_fee_means_no_shares():
    plan = reconcile(totals(fee=0), [], [refund("re_1", 1_000)], None)
    assert plan.refunds[0].fee_refunded == 0 and plan.application_fee_refunded == 0


@pytest.mark.parametrize(
    ("recorded", "seen", "expected", "news"),
    [
        (None, "needs_response", "needs_response", ["disputed"]),
        ("needs_response", "under_review", "under_review", []),
        ("under_review", "needs_response", "under_review", []),  # a stale read
        ("under_review", "won", "won", ["dispute_closed"]),
        ("lost", "under_review", "lost", []),
        ("won", "lost", "won", []),
        (None, "lost", "lost", ["disputed", "dispute_closed"]),
        ("warning_needs_response", "warning_closed", "warning_closed", ["dispute_closed"]),
        ("needs_response", "a_new_status", "needs_response", []),
    ],
)
def test_dispute_statuses_move_forward_and_announce_open_and_close(recorded, seen, expected, news):
    status = dispute_rules.advance(recorded, seen)
    assert status == expected
    assert dispute_rules.events(recorded, status) == news
