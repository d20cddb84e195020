"""The checkout's money rules with in-memory adapters (tests/unit/fakes.py): every path a
payment can take ends in exactly one order or a full refund, and stock is back whenever no
order holds it. Milliseconds, no servers; the same paths run against PostgreSQL, Redis, Envoy
and the Stripe emulator in tests/e2e/test_payments.py."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.checkout.checkout import flow as flow_module
from services.checkout.checkout.flow import AwaitingAction, CheckoutFlow, Replayed
from services.checkout.checkout.rules import checkout_request
from services.checkout.checkout.states import State
from services.checkout.config import CheckoutSettings
from services.common.errors import Aborted, FailedPrecondition, Unavailable
from services.common.tenancy import current_store_id
from tests.unit.fakes import InMemoryCarts, InMemoryCheckoutStorage, InMemoryGateway, Variant

STORE = 7
ADDRESS = {"name": "Ada", "line1": "1 Main St", "city": "X", "postal_code": "1", "country": "US"}
SETTINGS = CheckoutSettings(
    stripe_api_key="sk_test",
    stripe_api_base="http://stripe.invalid",
    stripe_webhook_secret="whsec",
    stripe_timeout=1.0,
    cart_ttl_seconds=3600,
    lease_seconds=30,
    requires_action_seconds=1800,
    worker_database_url="postgresql://unused",
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Shop:
    def __init__(self, *, charges_enabled: bool = True, stock: int = 5) -> None:
        self.clock = Clock()
        self.storage = InMemoryCheckoutStorage()
        self.storage.now = self.clock
        self.storage.add_store(STORE, charges_enabled=charges_enabled)
        self.carts = InMemoryCarts()
        self.gateway = InMemoryGateway()
        self.variant = self.storage.add_variant(STORE, Variant(quantity=stock, price=2500))
        self.flow = CheckoutFlow(
            self.storage,
            self.carts,
            self.gateway,
            SETTINGS,
            lambda paid: f"order {paid.order.number}".encode(),
            clock=self.clock,
        )
        token = current_store_id.set(STORE)
        self._reset = lambda: current_store_id.reset(token)

    def request(self, quantity: int = 1, payment_method: str = "pm_card_visa") -> dict:
        cart = self.carts.put(STORE, [(self.variant, quantity)])
        return checkout_request(cart, "ada@example.com", ADDRESS, {}, payment_method)

    async def checkout(self, request: dict, key: str = "key-1"):
        return await self.flow.checkout(request, key)

    def stock(self) -> int:
        return self.storage.stock(STORE, self.variant)

    def orders(self):
        return self.storage.orders(STORE)

    def record(self):
        return self.storage.only_record(STORE)

    def money_kept_without_an_order(self) -> list[str]:
        """The invariant: every succeeded, unrefunded intent has exactly one order."""
        ordered = [o.payment_intent_id for o in self.orders()]
        return [
            i.id
            for i in self.gateway.succeeded_unrefunded()
            if ordered.count(i.id) != 1 or i.refunded
        ]


@pytest.fixture
def shop():
    s = Shop()
    yield s
    s._reset()


async def test_a_paid_checkout_places_one_order_and_replays_it(shop: Shop):
    request = shop.request(2)
    first = await shop.checkout(request)
    # Even the first answer is the stored one: a replay can only be byte-identical.
    assert first == Replayed(b"order 1001") and shop.orders()[0].total == 5000
    again = await shop.checkout(request)
    assert again == first
    assert shop.stock() == 3 and len(shop.orders()) == 1 and shop.gateway.creates == 1
    assert shop.record().application_fee == 50  # the standard plan's 1%
    assert shop.money_kept_without_an_order() == []


async def test_same_key_other_request_is_refused(shop: Shop):
    await shop.checkout(shop.request(1))
    with pytest.raises(FailedPrecondition, match="different checkout request"):
        await shop.checkout(shop.request(2))


async def test_a_store_without_charges_is_refused_before_reserving():
    s = Shop(charges_enabled=False)
    try:
        with pytest.raises(FailedPrecondition, match="cannot accept payments yet"):
            await s.checkout(s.request())
        assert s.stock() == 5 and s.gateway.creates == 0
        assert s.record().state is State.FAILED
    finally:
        s._reset()


@pytest.mark.parametrize("status", ["suspended", "closed"])
async def test_a_store_that_is_not_active_is_refused_before_reserving(status: str):
    s = Shop()
    s.storage.accounts[STORE] = replace(s.storage.accounts[STORE], status=status)
    try:
        with pytest.raises(FailedPrecondition, match=f"this store is {status}"):
            await s.checkout(s.request())
        assert s.stock() == 5 and s.gateway.creates == 0
        assert s.record().state is State.FAILED
    finally:
        s._reset()


async def test_short_stock_is_refused_and_the_key_may_try_again(shop: Shop):
    request = shop.request(9)
    with pytest.raises(FailedPrecondition, match="only 5 left"):
        await shop.checkout(request)
    shop.storage.stores[STORE].variants[shop.variant].quantity = 20
    paid = await shop.checkout(request)
    assert isinstance(paid, Replayed) and shop.record().attempt == 2


async def test_a_decline_restocks_and_is_final_for_the_key(shop: Shop):
    shop.gateway.next_outcomes = ["decline"]
    request = shop.request(2)
    with pytest.raises(FailedPrecondition, match="declined"):
        await shop.checkout(request)
    assert shop.stock() == 5 and shop.record().state is State.DECLINED
    with pytest.raises(FailedPrecondition, match="declined"):
        await shop.checkout(request)
    assert shop.gateway.creates == 1


async def test_a_lost_answer_is_resolved_by_the_same_key_never_a_second_intent(shop: Shop):
    shop.gateway.next_outcomes = ["timeout"]
    request = shop.request()
    with pytest.raises(Unavailable):
        await shop.checkout(request)
    assert shop.record().state is State.RESERVED and shop.stock() == 4
    paid = await shop.checkout(request)  # the retry repeats the create with the same key
    assert isinstance(paid, Replayed)
    assert shop.gateway.creates == 1 and len(shop.orders()) == 1
    assert shop.money_kept_without_an_order() == []


async def test_a_saved_500_is_looked_up_in_the_consistent_list_not_charged_again(shop: Shop):
    shop.gateway.next_outcomes = ["lost"]
    request = shop.request()
    for _ in range(2):
        with pytest.raises(Unavailable):
            await shop.checkout(request)
    shop.clock.advance(seconds=10)
    paid = await shop.checkout(request)
    assert isinstance(paid, Replayed) and shop.gateway.creates == 1
    assert shop.money_kept_without_an_order() == []


async def test_the_recovery_worker_settles_a_lost_answer_the_same_way(shop: Shop):
    shop.gateway.next_outcomes = ["timeout"]
    with pytest.raises(Unavailable):
        await shop.checkout(shop.request())
    await shop.flow.recover(STORE, shop.record().id)
    assert shop.record().state is State.COMPLETED and len(shop.orders()) == 1
    assert shop.gateway.creates == 1


async def test_a_refused_request_releases_the_stock_at_once(shop: Shop):
    shop.gateway.next_outcomes = ["refused"]
    request = shop.request(3)
    with pytest.raises(Unavailable, match="refused"):
        await shop.checkout(request)
    assert shop.stock() == 5 and shop.record().state is State.FAILED
    assert isinstance(await shop.checkout(request), Replayed)  # the same key may try again


async def test_3d_secure_waits_and_the_retry_asks_the_provider(shop: Shop):
    shop.gateway.next_outcomes = ["3ds"]
    request = shop.request()
    waiting = await shop.checkout(request)
    assert isinstance(waiting, AwaitingAction) and shop.stock() == 4
    assert isinstance(await shop.checkout(request), AwaitingAction)
    shop.gateway.authenticate(shop.record().payment_intent_id, succeed=True)
    assert isinstance(await shop.checkout(request), Replayed)
    assert shop.money_kept_without_an_order() == []


async def test_3d_secure_declined_then_paid_with_another_card_places_the_order(shop: Shop):
    shop.gateway.next_outcomes = ["3ds"]
    request = shop.request()
    await shop.checkout(request)
    intent = shop.record().payment_intent_id
    shop.gateway.authenticate(intent, succeed=False)
    with pytest.raises(FailedPrecondition, match="declined"):
        await shop.checkout(request)
    assert shop.stock() == 5
    shop.gateway.pay_again(intent)
    await shop.flow.settle_succeeded(STORE, shop.record().id, intent)
    assert shop.record().state is State.COMPLETED and shop.stock() == 4
    assert shop.money_kept_without_an_order() == []


async def test_paid_after_release_with_the_stock_gone_is_refunded(shop: Shop):
    shop.gateway.next_outcomes = ["3ds"]
    request = shop.request(5)
    await shop.checkout(request)
    intent = shop.record().payment_intent_id
    shop.gateway.authenticate(intent, succeed=False)
    with pytest.raises(FailedPrecondition):
        await shop.checkout(request)
    shop.storage.stores[STORE].variants[shop.variant].quantity = 1  # sold elsewhere meanwhile
    shop.gateway.pay_again(intent)
    await shop.flow.settle_succeeded(STORE, shop.record().id, intent)
    assert shop.record().state is State.REFUNDED
    assert shop.gateway.intents[intent].refunded == 12500 and shop.orders() == []
    with pytest.raises(FailedPrecondition, match="refunded in full"):
        await shop.checkout(request)


async def test_an_unexpected_second_intent_is_refunded(shop: Shop):
    await shop.checkout(shop.request())
    record = shop.record()
    extra = shop.gateway.extra_intent(
        "acct_1", 2500, {"store_id": str(STORE), "checkout_id": str(record.id)}
    )
    await shop.flow.settle_succeeded(STORE, record.id, extra)
    assert shop.gateway.intents[extra].refunded == 2500 and len(shop.orders()) == 1
    assert shop.money_kept_without_an_order() == []


async def test_an_order_that_cannot_be_written_is_retried_then_refunded(shop: Shop):
    shop.storage.failing_orders = 100
    request = shop.request(2)
    with pytest.raises(Unavailable, match="payment was received"):
        await shop.checkout(request)
    for _ in range(10):
        record = shop.record()
        if record.state is State.REFUNDED:
            break
        await shop.flow.recover(STORE, record.id)
    record = shop.record()
    assert record.state is State.REFUNDED and record.finalize_failures == 5
    assert shop.stock() == 5 and shop.orders() == []
    assert shop.gateway.intents[record.payment_intent_id].refunded == 5000
    with pytest.raises(FailedPrecondition, match="refunded in full"):
        await shop.checkout(request)


async def test_a_refund_already_made_in_the_dashboard_counts_as_done(shop: Shop):
    shop.storage.failing_orders = 100
    shop.gateway.refund_refusal = "charge_already_refunded"
    request = shop.request()
    with pytest.raises(Unavailable):
        await shop.checkout(request)
    for _ in range(10):
        if shop.record().state is State.REFUNDED:
            break
        await shop.flow.recover(STORE, shop.record().id)
    assert shop.record().state is State.REFUNDED


async def test_a_refund_refused_for_another_reason_keeps_refunding(shop: Shop):
    shop.storage.failing_orders = 100
    shop.gateway.refund_refusal = "charge_disputed"
    with pytest.raises(Unavailable):
        await shop.checkout(shop.request())
    for _ in range(10):
        with contextlib.suppress(Exception):
            await shop.flow.recover(STORE, shop.record().id)
    assert shop.record().state is State.REFUNDING


async def test_a_passing_fault_in_writing_the_order_is_retried_to_one_order(shop: Shop):
    shop.storage.failing_orders = 2
    request = shop.request()
    for _ in range(2):
        with pytest.raises(Unavailable):
            await shop.checkout(request)
    assert isinstance(await shop.checkout(request), Replayed)
    assert len(shop.orders()) == 1 and shop.money_kept_without_an_order() == []


async def test_webhook_and_retry_racing_make_one_order(shop: Shop):
    shop.gateway.next_outcomes = ["timeout"]
    request = shop.request()
    with pytest.raises(Unavailable):
        await shop.checkout(request)
    intent = next(iter(shop.gateway.intents))
    await shop.flow.settle_succeeded(STORE, shop.record().id, intent)
    await shop.flow.settle_succeeded(STORE, shop.record().id, intent)
    assert isinstance(await shop.checkout(request), Replayed)
    assert len(shop.orders()) == 1 and shop.gateway.creates == 1


async def test_an_unfinished_checkout_under_lease_is_not_taken_over(shop: Shop):
    shop.gateway.unavailable = True
    request = shop.request()
    with pytest.raises(Unavailable):
        await shop.checkout(request)
    # The unknown outcome released the lease: a retry (or the worker) takes over at once.
    shop.gateway.unavailable = False
    assert isinstance(await shop.checkout(request), Replayed)
    assert shop.gateway.creates == 1


async def test_a_running_checkout_refuses_a_concurrent_retry(shop: Shop):
    request = shop.request()
    async with shop.storage.transaction(STORE) as tx:
        await tx.insert("busy", b"x", request, 30)
    with pytest.raises(FailedPrecondition):
        await shop.checkout(request, key="busy")  # other fingerprint
    record = next(r.record for r in shop.storage.stores[STORE].rows.values())
    async with shop.storage.transaction(STORE) as tx:
        claimed = await tx.by_key("busy")
        assert claimed.leased
    with pytest.raises(Aborted):
        from services.checkout.checkout.storage import fingerprint

        shop.storage.stores[STORE].rows[record.id].fingerprint = fingerprint(request)
        await shop.checkout(request, key="busy")


async def test_requires_action_past_its_wait_is_cancelled_and_restocked(shop: Shop):
    shop.gateway.next_outcomes = ["3ds"]
    await shop.checkout(shop.request())
    await shop.flow.recover(STORE, shop.record().id)
    record = shop.record()
    assert record.state is State.DECLINED and shop.stock() == 5
    assert shop.gateway.intents[record.payment_intent_id].status == "canceled"


async def test_past_the_key_window_a_missing_intent_lets_the_stock_go(shop: Shop):
    shop.gateway.unavailable = True
    request = shop.request()
    with pytest.raises(Unavailable):
        await shop.checkout(request)
    shop.gateway.unavailable = False
    shop.clock.advance(hours=24)
    await shop.flow.recover(STORE, shop.record().id)
    assert shop.record().state is State.FAILED and shop.stock() == 5
    assert shop.gateway.creates == 0


def test_the_flow_module_has_no_io_imports():
    source = open(flow_module.__file__).read()
    for banned in ("import grpc", "import asyncpg", "import stripe", "shop.checkout.v1"):
        assert banned not in source
    assert uuid  # (imported for fixtures' ids)
