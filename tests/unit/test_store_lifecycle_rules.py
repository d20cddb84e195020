"""A store's life as decisions (services.store.lifecycle.rules, ownership_rules, erase_rules):
every transition, the confirmations, the erase order and when shop/redact has had its chance."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.common.errors import FailedPrecondition, InvalidArgument
from services.store.lifecycle import ownership_rules as owner
from services.store.lifecycle import rules
from services.store.lifecycle.erase_rules import (
    RedactProgress,
    Table,
    erase_order,
    redact_settled,
)
from services.store.lifecycle.rules import Lifecycle, Status

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
GRACE = timedelta(days=30)
ACTIVE = Lifecycle(Status.ACTIVE, "standard")


def test_suspend_and_reinstate():
    suspended = rules.suspend(ACTIVE, "fraud review", NOW)
    assert (suspended.status, suspended.status_reason, suspended.suspended_at) == (
        Status.SUSPENDED,
        "fraud review",
        NOW,
    )
    assert rules.suspend(suspended, "again", NOW + GRACE) == suspended  # a retry changes nothing
    assert rules.reinstate(suspended) == ACTIVE
    assert rules.reinstate(ACTIVE) == ACTIVE


def test_close_sets_the_grace_period_from_any_open_state():
    for start in (ACTIVE, rules.suspend(ACTIVE, "x", NOW)):
        closed = rules.close(start, "asked", NOW, GRACE)
        assert (closed.status, closed.closed_at, closed.erase_after) == (
            Status.CLOSED,
            NOW,
            NOW + GRACE,
        )
        assert closed.suspended_at is None
        assert rules.close(closed, "again", NOW + GRACE, GRACE) == closed


def test_closed_store_reinstated_only_before_its_erasure_begins():
    closed = rules.close(ACTIVE, "asked", NOW, GRACE)
    assert rules.reinstate(closed) == ACTIVE
    erasing = replace(closed, erase_started_at=NOW + GRACE)
    with pytest.raises(FailedPrecondition, match="erasure has begun"):
        rules.reinstate(erasing)
    with pytest.raises(FailedPrecondition):
        rules.suspend(closed, "x", NOW)
    with pytest.raises(FailedPrecondition):
        rules.change_plan(closed, "plus")


def test_plan_and_reason_validation():
    assert rules.validate_plan(" Plus ") == "plus"
    with pytest.raises(InvalidArgument, match="plan"):
        rules.validate_plan("gold")
    assert rules.validate_reason("  ", required=False) is None
    for bad in ("", "x" * 501, "a\x00b"):
        with pytest.raises(InvalidArgument, match="reason"):
            rules.validate_reason(bad, required=True)


def test_audit_view_holds_platform_fields_only():
    view = rules.close(ACTIVE, "asked", NOW, GRACE).audit_view()
    assert view["status"] == "closed" and view["erase_after"] == (NOW + GRACE).isoformat()
    assert set(view) == {
        "status",
        "plan",
        "status_reason",
        "suspended_at",
        "closed_at",
        "erase_after",
        "erase_started_at",
    }


def test_confirmations_match_once_and_expire():
    token, pending = owner.new_confirmation(owner.Purpose.CLOSE_STORE, NOW)
    assert pending.expires_at == NOW + owner.CLOSURE_VALIDITY
    assert token.encode() not in pending.token_hash
    assert owner.check_confirmation(pending, token, "confirmation_token", NOW) == pending
    with pytest.raises(FailedPrecondition, match="does not match"):
        owner.check_confirmation(pending, token + "x", "confirmation_token", NOW)
    with pytest.raises(FailedPrecondition, match="expired"):
        owner.check_confirmation(pending, token, "confirmation_token", pending.expires_at)
    with pytest.raises(FailedPrecondition, match="nothing is waiting"):
        owner.check_confirmation(None, token, "confirmation_token", NOW)
    with pytest.raises(InvalidArgument):
        owner.check_confirmation(pending, "", "confirmation_token", NOW)


def test_owner_email_and_currency_rules():
    assert owner.validate_owner_email(" new@example.com ", "old@example.com") == "new@example.com"
    for bad in ("nope", "OLD@example.com", "a" * 250 + "@b.io"):
        with pytest.raises(InvalidArgument, match="new_email"):
            owner.validate_owner_email(bad, "old@example.com")
    assert owner.validate_currency("eur") == "EUR"
    with pytest.raises(InvalidArgument, match="currency"):
        owner.validate_currency("EURO")
    assert owner.currency_refusal(0, 0) is None
    assert "has 3" in owner.currency_refusal(3, 0).message
    assert "in progress" in owner.currency_refusal(0, 1).message
    owner.check_subdomain_typed(" Acme ", "acme")
    with pytest.raises(InvalidArgument, match="subdomain"):
        owner.check_subdomain_typed("acme2", "acme")


def _t(name: str, *parents: str) -> Table:
    return Table(name, ("store_id", "id"), frozenset(parents))


def test_erase_order_puts_children_first_and_platform_tables_last():
    tables = [
        _t("api_tokens"),
        _t("order_items", "orders"),
        _t("orders", "checkouts", "stores"),
        _t("checkouts", "stores"),
        _t("store_domains", "stores"),
        _t("variants", "products"),
        _t("products", "stores"),
    ]
    names = [t.name for t in erase_order(tables)]
    assert names.index("order_items") < names.index("orders") < names.index("checkouts")
    assert names.index("variants") < names.index("products")
    assert names[-2:] == ["api_tokens", "store_domains"]
    assert names == [t.name for t in erase_order(list(reversed(tables)))]  # stable


def test_erase_order_refuses_cycles_and_keyless_tables():
    with pytest.raises(ValueError, match="cycle"):
        erase_order([_t("a", "b"), _t("b", "a")])
    with pytest.raises(ValueError, match="primary key"):
        erase_order([Table("loose", (), frozenset())])


def test_redact_settles_when_delivered_or_when_the_wait_is_over():
    wait = timedelta(hours=24)
    waiting = RedactProgress(NOW, False, True, True, 1)
    assert not redact_settled(waiting, NOW + timedelta(hours=1), wait)
    assert redact_settled(replace(waiting, pending_deliveries=0), NOW, wait)
    assert not redact_settled(replace(waiting, pending_deliveries=0, processed=False), NOW, wait)
    assert redact_settled(waiting, NOW + wait, wait)
    assert redact_settled(replace(waiting, outbox_gone=True), NOW, wait)
