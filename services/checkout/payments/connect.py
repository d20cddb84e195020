"""Stripe Connect through the official SDK: the stores' connected accounts, their onboarding
links, balance and payouts. Every read comes from Stripe; nothing of it is copied except the
flags the checkout must check before it reserves stock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe

from services.checkout.payments.rules import PaymentUnavailable
from services.common.errors import InvalidArgument


@dataclass(frozen=True)
class Link:
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class Amount:
    amount: int
    currency: str


@dataclass(frozen=True)
class PayoutView:
    id: str
    amount: int
    currency: str
    status: str
    arrival_date: datetime | None
    created_at: datetime
    failure_code: str | None
    failure_message: str | None


def _when(unix: int | None) -> datetime | None:
    return None if unix is None else datetime.fromtimestamp(unix, UTC)


def _amounts(rows: Any) -> list[Amount]:
    return [Amount(int(r["amount"]), str(r["currency"]).upper()) for r in rows or ()]


def _unavailable(exc: stripe.StripeError) -> PaymentUnavailable:
    return PaymentUnavailable(f"{type(exc).__name__}: {exc.user_message or exc}")


class StripeConnect:
    def __init__(self, client: stripe.StripeClient) -> None:
        self._client = client

    async def create_account(self, store_id: int, email: str) -> str:
        """One account per store: the idempotency key is the store's, so a second call (or a
        retry after a lost answer) returns the same account."""
        params: stripe.params.AccountCreateParams = {
            "type": "express",
            "email": email,
            "capabilities": {
                "card_payments": {"requested": True},
                "transfers": {"requested": True},
            },
            "metadata": {"store_id": str(store_id)},
        }
        try:
            account = await self._client.v1.accounts.create_async(
                params=params, options={"idempotency_key": f"shop:{store_id}:connect-account"}
            )
        except stripe.StripeError as exc:
            raise _unavailable(exc) from exc
        return str(account.id)

    async def onboarding_link(self, account_id: str, return_url: str, refresh_url: str) -> Link:
        params: stripe.params.AccountLinkCreateParams = {
            "account": account_id,
            "type": "account_onboarding",
            "return_url": return_url,
            "refresh_url": refresh_url,
        }
        try:
            link = await self._client.v1.account_links.create_async(params=params)
        except stripe.StripeError as exc:
            raise _unavailable(exc) from exc
        return Link(link.url, datetime.fromtimestamp(link.expires_at, UTC))

    async def account(self, account_id: str) -> dict[str, Any]:
        try:
            account = await self._client.v1.accounts.retrieve_async(account_id)
        except stripe.StripeError as exc:
            raise _unavailable(exc) from exc
        return account.to_dict()

    async def balance(self, account_id: str) -> tuple[list[Amount], list[Amount]]:
        try:
            balance = (
                await self._client.v1.balance.retrieve_async(options={"stripe_account": account_id})
            ).to_dict()
        except stripe.StripeError as exc:
            raise _unavailable(exc) from exc
        return _amounts(balance.get("available")), _amounts(balance.get("pending"))

    async def payouts(
        self, account_id: str, limit: int, starting_after: str | None
    ) -> tuple[list[PayoutView], str | None]:
        """A page of payouts, newest first, and the id to continue after (None at the end)."""
        params: stripe.params.PayoutListParams = {"limit": limit}
        if starting_after:
            params["starting_after"] = starting_after
        try:
            page = await self._client.v1.payouts.list_async(
                params=params, options={"stripe_account": account_id}
            )
        except stripe.InvalidRequestError as exc:
            raise InvalidArgument.field("page_token", "is not a token this API issued") from exc
        except stripe.StripeError as exc:
            raise _unavailable(exc) from exc
        views = [
            PayoutView(
                id=p.id,
                amount=p.amount,
                currency=p.currency.upper(),
                status=p.status,
                arrival_date=_when(p.arrival_date),
                created_at=datetime.fromtimestamp(p.created, UTC),
                failure_code=p.failure_code,
                failure_message=p.failure_message,
            )
            for p in page.data
        ]
        return views, (views[-1].id if page.has_more and views else None)
