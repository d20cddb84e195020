"""The webhook endpoints subscribe to exactly the Stripe event types some handler acts on: one
missing would be an event the platform never hears of; one extra, deliveries for nothing."""

from __future__ import annotations

from types import SimpleNamespace

from devstack.stack import Stack
from services.checkout.bootstrap import stripe_side_handlers
from services.checkout.payments.event_types import (
    ACCOUNT_EVENTS,
    HANDLED_EVENT_TYPES,
    INTENT_EVENTS,
)


def _handler(store_id, event):  # pragma: no cover - never called
    raise AssertionError


def test_subscribed_types_are_exactly_the_handled_ones() -> None:
    room = SimpleNamespace(on_stripe_event=_handler)
    part = SimpleNamespace(refunds=room, disputes=room, payouts=room)
    handled = set(stripe_side_handlers(part)) | set(INTENT_EVENTS) | set(ACCOUNT_EVENTS)
    assert handled == set(HANDLED_EVENT_TYPES)
    assert len(HANDLED_EVENT_TYPES) == len(set(HANDLED_EVENT_TYPES))
    # What a paid order also makes Stripe emit, and nothing here acts on.
    for ignored in ("payment_intent.created", "charge.succeeded", "application_fee.created"):
        assert ignored not in HANDLED_EVENT_TYPES


def test_the_stacks_emulator_is_subscribed_to_them_only(tmp_path, monkeypatch) -> None:
    started: list[list[str]] = []
    stack = Stack(
        pg_admin_dsn="postgresql://x@127.0.0.1/x",
        redis_url="redis://x",
        database="x",
        run_dir=tmp_path,
    )

    def spawn(name, args, env):
        started.append(args)
        stack.procs[name] = None

    monkeypatch.setattr(stack, "_spawn", spawn)
    monkeypatch.setattr("devstack.stack.wait_http", lambda *a, **k: None)
    monkeypatch.setattr(Stack, "service_env", lambda self, service, port: {})
    stack.start_stripe_emulator()
    [args] = started
    events = [args[i + 1] for i, a in enumerate(args) if a == "--webhook-event"]
    assert events == list(HANDLED_EVENT_TYPES)
