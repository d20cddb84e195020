"""A store's Stripe Connect account in PostgreSQL: its id, and what Stripe last said about it
(charges and payouts enabled, requirements). Written by onboarding, GetPaymentsStatus and the
`account.updated` webhook — always from the account as Stripe returns it now, so an event that
arrives late can never move the state backwards."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.common.db import fetch_one, tenant_transaction


@dataclass(frozen=True)
class AccountState:
    account_id: str | None
    charges_enabled: bool = False
    payouts_enabled: bool = False
    details_submitted: bool = False
    requirements_due: tuple[str, ...] = ()
    disabled_reason: str | None = None


@dataclass(frozen=True)
class StoreFacts:
    account_id: str | None
    subdomain: str
    owner_email: str


def state_from_account(account: dict[str, Any]) -> AccountState:
    """Stripe's Account object → what the platform keeps of it."""
    requirements = account.get("requirements") or {}
    due = [*(requirements.get("past_due") or ()), *(requirements.get("currently_due") or ())]
    return AccountState(
        account_id=account["id"],
        charges_enabled=bool(account.get("charges_enabled")),
        payouts_enabled=bool(account.get("payouts_enabled")),
        details_submitted=bool(account.get("details_submitted")),
        requirements_due=tuple(dict.fromkeys(due)),
        disabled_reason=requirements.get("disabled_reason"),
    )


async def account_in(conn: asyncpg.Connection, store_id: int) -> str | None:
    """The store's account, read in the caller's tenant transaction."""
    return await conn.fetchval("SELECT stripe_account_id FROM stores WHERE id = $1", store_id)


class StoreAccounts:
    def __init__(self, pool: asyncpg.Pool, worker_pool: asyncpg.Pool) -> None:
        self._pool = pool
        # The checkout's cross-store role: it may only ask which store owns an account.
        self._worker_pool = worker_pool

    async def facts(self, store_id: int) -> StoreFacts:
        async with tenant_transaction(self._pool, store_id=store_id, readonly=True) as conn:
            row = await fetch_one(
                conn,
                "SELECT stripe_account_id, subdomain, owner_email FROM stores WHERE id = $1",
                store_id,
            )
        return StoreFacts(row["stripe_account_id"], row["subdomain"], row["owner_email"])

    async def adopt(self, store_id: int, account_id: str) -> str:
        """Records the store's account unless it has one; returns the one it has."""
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            await conn.execute(
                """UPDATE stores SET stripe_account_id = $2
                   WHERE id = $1 AND stripe_account_id IS NULL""",
                store_id,
                account_id,
            )
            return str(await account_in(conn, store_id))

    async def record(self, store_id: int, state: AccountState) -> None:
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            await conn.execute(
                """UPDATE stores
                   SET charges_enabled = $3, payouts_enabled = $4,
                       payments_details_submitted = $5, payments_requirements = $6::jsonb,
                       payments_disabled_reason = $7, payments_updated_at = now()
                   WHERE id = $1 AND stripe_account_id = $2""",
                store_id,
                state.account_id,
                state.charges_enabled,
                state.payouts_enabled,
                state.details_submitted,
                json.dumps({"due": list(state.requirements_due)}),
                state.disabled_reason,
            )

    async def store_of(self, account_id: str) -> int | None:
        """Which store a connected account belongs to (Connect events name only the account)."""
        store_id = await self._worker_pool.fetchval(
            "SELECT platform.store_of_stripe_account($1)", account_id
        )
        return None if store_id is None else int(store_id)
