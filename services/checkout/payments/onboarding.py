"""The merchant's side of payments: start (or resume) Stripe onboarding, see what Stripe says
about the account, its balance and its payouts."""

from __future__ import annotations

import re

from services.checkout.payments.accounts import AccountState, StoreAccounts, state_from_account
from services.checkout.payments.connect import Amount, Link, PayoutView, StripeConnect
from services.checkout.payments.rules import PaymentUnavailable
from services.common.errors import FailedPrecondition, InvalidArgument, Unavailable
from services.common.tenancy import require_store_id

MAX_PAYOUTS_PAGE = 100
DEFAULT_PAYOUTS_PAGE = 20
_PAYOUT_ID = re.compile(r"^po_[A-Za-z0-9]{1,64}$")
_NOT_STARTED = "payments onboarding has not started; call StartPaymentsOnboarding first"


def _unavailable(exc: PaymentUnavailable) -> Unavailable:
    return Unavailable(f"the payment provider did not answer; retry shortly ({exc})")


class Payments:
    def __init__(self, accounts: StoreAccounts, connect: StripeConnect, platform_domain: str):
        self._accounts = accounts
        self._connect = connect
        self._domain = platform_domain

    async def start_onboarding(self) -> tuple[str, Link]:
        store_id = require_store_id()
        facts = await self._accounts.facts(store_id)
        try:
            account_id = facts.account_id
            if account_id is None:
                created = await self._connect.create_account(store_id, facts.owner_email)
                account_id = await self._accounts.adopt(store_id, created)
            # Back to the store's own host: the merchant is on their shop, not ours.
            base = f"https://{facts.subdomain}.{self._domain}/admin/payments"
            link = await self._connect.onboarding_link(
                account_id, return_url=f"{base}/return", refresh_url=f"{base}/refresh"
            )
        except PaymentUnavailable as exc:
            raise _unavailable(exc) from exc
        return account_id, link

    async def status(self) -> AccountState:
        """Asks Stripe, and records the answer (the checkout reads the flags)."""
        store_id = require_store_id()
        facts = await self._accounts.facts(store_id)
        if facts.account_id is None:
            return AccountState(None)
        try:
            state = state_from_account(await self._connect.account(facts.account_id))
        except PaymentUnavailable as exc:
            raise _unavailable(exc) from exc
        await self._accounts.record(store_id, state)
        return state

    async def _account(self) -> str:
        facts = await self._accounts.facts(require_store_id())
        if facts.account_id is None:
            raise FailedPrecondition(_NOT_STARTED)
        return facts.account_id

    async def balance(self) -> tuple[list[Amount], list[Amount]]:
        account = await self._account()
        try:
            return await self._connect.balance(account)
        except PaymentUnavailable as exc:
            raise _unavailable(exc) from exc

    async def payouts(self, page_size: int, page_token: str) -> tuple[list[PayoutView], str]:
        if not 0 <= page_size <= MAX_PAYOUTS_PAGE:
            raise InvalidArgument.field("page_size", f"must be between 1 and {MAX_PAYOUTS_PAGE}")
        if page_token and not _PAYOUT_ID.match(page_token):
            raise InvalidArgument.field(
                "page_token", "is not a token this API issued; pass next_page_token unchanged"
            )
        account = await self._account()
        try:
            payouts, after = await self._connect.payouts(
                account, page_size or DEFAULT_PAYOUTS_PAGE, page_token or None
            )
        except PaymentUnavailable as exc:
            raise _unavailable(exc) from exc
        return payouts, after or ""
