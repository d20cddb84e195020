"""ChangePlan through the operator API: the store's new rate limit holds at the edge within a
second, and the push that carries it refills no other store's bucket."""

from __future__ import annotations

import time

from services.common.plans import PLANS
from tests.e2e.api_client import signup
from tests.e2e.lifecycle_support import mint_operator, ops_post

DEV, PLUS = PLANS["development"], PLANS["plus"]


def limit_of(http, host: str) -> tuple[int, str | None]:
    r = http.get("/v1/products", headers={"host": host})
    return r.status_code, r.headers.get("x-ratelimit-limit")


def exhaust(http, host: str) -> None:
    for _ in range(DEV.burst * 3):
        if http.get("/v1/products", headers={"host": host}).status_code == 429:
            return
    raise AssertionError("never rate limited")


def on_plan(http, operator, store, plan: str, limit: int) -> None:
    assert ops_post(http, operator, store.id, "changePlan", plan=plan).status_code == 200
    deadline = time.monotonic() + 2
    while limit_of(http, store.host)[1] != str(limit):
        assert time.monotonic() < deadline, f"{store.host} never on the {plan} bucket"
        time.sleep(0.02)


def test_plan_change_applies_at_the_edge_within_a_second(stack, http):
    operator = mint_operator(stack, "billing", ("manage_plans",))
    upgraded, bystander = signup(http, "upgrade"), signup(http, "bystander")
    for store in (upgraded, bystander):
        on_plan(http, operator, store, "development", DEV.burst)
    exhaust(http, upgraded.host)
    exhaust(http, bystander.host)
    bystander_emptied = time.monotonic()

    changed = time.monotonic()
    r = ops_post(http, operator, upgraded.id, "changePlan", plan="plus", reason="upgrade")
    assert r.status_code == 200, r.text
    assert r.json()["plan"] == "plus"
    while limit_of(http, upgraded.host) != (200, str(PLUS.burst)):
        assert time.monotonic() - changed < 1.0, limit_of(http, upgraded.host)
        time.sleep(0.01)
    live_after = time.monotonic() - changed
    # The new plan's bucket lets a burst through that the old one never would.
    passed = sum(
        http.get("/v1/products", headers={"host": upgraded.host}).status_code == 200
        for _ in range(DEV.burst * 2)
    )
    assert passed == DEV.burst * 2

    # The push did not reset the bystander's bucket (emptied just before it): only what its
    # own rate refilled since passes, never a fresh burst.
    bystander_passed = sum(
        http.get("/v1/products", headers={"host": bystander.host}).status_code == 200
        for _ in range(DEV.burst)
    )
    refill = (time.monotonic() - bystander_emptied) * DEV.requests_per_second + 2
    assert bystander_passed <= refill, (bystander_passed, refill)
    print(f"plan change live at the edge after {live_after * 1000:.0f} ms")
