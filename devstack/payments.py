"""Payments for local stores: a merchant's Stripe onboarding, done through the platform's API as
a merchant would (StartPaymentsOnboarding), finished on the local emulator's control API in
place of Stripe's hosted page, and confirmed with GetPaymentsStatus. Used by `make run`'s demo
store, the tests and the benchmarks."""

from __future__ import annotations

import httpx


def onboard(http: httpx.Client, host: str, token: str, emulator_url: str) -> str:
    """Onboards the store behind `host` (admin token `token`); returns its Connect account."""
    admin = {"host": host, "authorization": f"Bearer {token}"}
    started = http.post("/v1/admin/payments/onboarding", headers=admin, json={})
    started.raise_for_status()
    account = started.json()["account_id"]
    httpx.post(
        f"{emulator_url}/_emulator/accounts/{account}/complete_onboarding", json={}, timeout=10
    ).raise_for_status()
    status = http.get("/v1/admin/payments", headers=admin)
    status.raise_for_status()
    if not status.json().get("charges_enabled"):
        raise RuntimeError(f"{host}: charges not enabled after onboarding: {status.text}")
    return account


def restore_account(emulator_url: str, account: str) -> None:
    """The emulator keeps no state across restarts: give an existing store its (onboarded)
    account back under the same id."""
    r = httpx.post(f"{emulator_url}/_emulator/accounts", json={"id": account}, timeout=10)
    if r.status_code not in (200, 400):  # 400: it exists already
        r.raise_for_status()
