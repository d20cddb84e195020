"""The checkout's state machine, pair by pair: every (state, event) either moves where this
table says or does nothing — spelled out again here so any change to the machine is a
deliberate change to this test too."""

from __future__ import annotations

import itertools

import pytest

from services.checkout.checkout.states import (
    FINAL,
    HOLDING_STOCK,
    TRANSITIONS,
    Event,
    State,
    next_state,
    reachable,
)

S, E = State, Event

EXPECTED: dict[State, dict[Event, State]] = {
    S.PROCESSING: {E.RESERVED: S.RESERVED, E.NOT_RESERVED: S.FAILED, E.INTERRUPTED: S.FAILED},
    S.RESERVED: {
        E.PAID: S.COMPLETED,
        E.ACTION_REQUIRED: S.REQUIRES_ACTION,
        E.DECLINED: S.DECLINED,
        E.PROVIDER_FAULT: S.FAILED,
        E.UNKNOWN: S.RESERVED,
        E.ABANDONED: S.FAILED,
        E.FINALIZE_FAILED: S.REFUNDING,
    },
    S.REQUIRES_ACTION: {
        E.PAID: S.COMPLETED,
        E.ACTION_REQUIRED: S.REQUIRES_ACTION,
        E.DECLINED: S.DECLINED,
        E.ACTION_EXPIRED: S.DECLINED,
        E.UNKNOWN: S.REQUIRES_ACTION,
        E.FINALIZE_FAILED: S.REFUNDING,
    },
    S.COMPLETED: {},
    S.DECLINED: {E.LATE_PAYMENT_PLACED: S.COMPLETED, E.LATE_PAYMENT_REFUND: S.REFUNDING},
    S.FAILED: {
        E.RETRY: S.PROCESSING,
        E.LATE_PAYMENT_PLACED: S.COMPLETED,
        E.LATE_PAYMENT_REFUND: S.REFUNDING,
    },
    S.REFUNDING: {E.UNKNOWN: S.REFUNDING, E.REFUND_DONE: S.REFUNDED},
    S.REFUNDED: {},
}

PAIRS = list(itertools.product(State, Event))


@pytest.mark.parametrize(("state", "event"), PAIRS, ids=[f"{s}-{e}" for s, e in PAIRS])
def test_every_pair(state: State, event: Event):
    assert next_state(state, event) == EXPECTED[state].get(event)


def test_the_table_has_nothing_the_expectation_lacks():
    assert set(TRANSITIONS) == {(s, e) for s, moves in EXPECTED.items() for e in moves}


@pytest.mark.parametrize("state", list(State))
def test_every_state_has_a_path_to_a_final_state(state: State):
    assert reachable(state) & {S.COMPLETED, S.DECLINED, S.FAILED, S.REFUNDED}


def test_a_succeeded_payment_can_only_end_in_an_order_or_a_refund():
    # PAID and the late-payment events are the only ones that follow a succeeded payment;
    # from there, or from a failed finalisation, nothing leads to FAILED or DECLINED.
    after_money = {
        target
        for (source, event), target in TRANSITIONS.items()
        if event in (E.PAID, E.LATE_PAYMENT_PLACED, E.LATE_PAYMENT_REFUND, E.FINALIZE_FAILED)
    }
    assert after_money == {S.COMPLETED, S.REFUNDING}
    for state in after_money:
        assert reachable(state) <= {S.COMPLETED, S.REFUNDING, S.REFUNDED}


def test_completed_and_refunded_never_move():
    for state in (S.COMPLETED, S.REFUNDED):
        assert all(next_state(state, e) is None for e in Event)
    assert {S.COMPLETED, S.REFUNDED} <= FINAL


def test_stock_is_held_only_while_the_payment_is_open():
    assert HOLDING_STOCK == {S.RESERVED, S.REQUIRES_ACTION}
    assert not HOLDING_STOCK & FINAL
