"""What a merchant asks about the store itself, in domain terms: move it to a new owner email,
change its currency, close it. Each is decided by the rule modules and written by the
repositories in the store's tenant transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from services.common import outbox
from services.common.errors import FailedPrecondition
from services.store.lifecycle import ownership_rules as rules
from services.store.lifecycle import rules as lifecycle
from services.store.lifecycle.ownership_repository import OwnershipRepository
from services.store.lifecycle.repository import LifecycleRepository


@dataclass(frozen=True)
class PendingEmail:
    email: str
    expires_at: datetime


@dataclass(frozen=True)
class ClosureOffer:
    token: str
    expires_at: datetime
    erase_after: datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


class Ownership:
    def __init__(
        self,
        repository: OwnershipRepository,
        statuses: LifecycleRepository,
        grace: timedelta,
        platform_domain: str,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._repo = repository
        self._statuses = statuses
        self._grace = grace
        self._domain = platform_domain
        self._now = clock

    async def request_owner_email(self, store_id: int, raw_email: str) -> PendingEmail:
        facts = await self._repo.facts(store_id)
        email = rules.validate_owner_email(raw_email, facts["owner_email"])
        code, confirmation = rules.new_confirmation(
            rules.Purpose.OWNER_EMAIL, self._now(), new_email=email
        )
        # The code travels in the event (the email consumer mails it to the new address): it
        # is single-use and expires in a day, and the relay prunes published rows after a week.
        mail = outbox.store_event(
            "owner_email_confirmation",
            {
                "to": email,
                "store_name": facts["name"],
                "shop_domain": f"{facts['subdomain']}.{self._domain}",
                "code": code,
                "expires_at": confirmation.expires_at.isoformat(),
            },
            key=f"owner-email:{uuid.uuid4().hex}",
        )
        await self._repo.save_confirmation(store_id, confirmation, mail)
        return PendingEmail(email, confirmation.expires_at)

    async def confirm_owner_email(self, store_id: int, code: str) -> None:
        now = self._now()
        facts = await self._repo.facts(store_id)

        def accept(pending: rules.Confirmation | None) -> str:
            confirmed = rules.check_confirmation(pending, code, "code", now)
            if confirmed.new_email is None:  # the table's CHECK rules this out
                raise FailedPrecondition("code: the pending request names no email; ask again")
            return confirmed.new_email

        def notice(old: str, new: str) -> outbox.Event:
            return outbox.store_event(
                "owner_email_changed",
                {"to": old, "new_email": new, "store_name": facts["name"]},
                key=f"owner-email-changed:{uuid.uuid4().hex}",
            )

        await self._repo.confirm_owner_email(store_id, accept, notice)

    async def pending_owner_email(self, store_id: int) -> str | None:
        return await self._repo.pending_email(store_id)

    async def change_currency(self, store_id: int, raw_currency: str) -> None:
        currency = rules.validate_currency(raw_currency)
        await self._repo.change_currency(store_id, currency, self._now())

    async def offer_closure(self, store_id: int) -> ClosureOffer:
        facts = await self._repo.facts(store_id)
        if facts["status"] != lifecycle.Status.ACTIVE:
            raise FailedPrecondition(f"the store is {facts['status']}; it cannot be closed here")
        now = self._now()
        token, confirmation = rules.new_confirmation(rules.Purpose.CLOSE_STORE, now)
        await self._repo.save_confirmation(store_id, confirmation)
        return ClosureOffer(token, confirmation.expires_at, now + self._grace)

    async def close(self, store_id: int, token: str, subdomain: str) -> lifecycle.Lifecycle:
        now = self._now()

        def decide(current: lifecycle.Lifecycle) -> lifecycle.Lifecycle:
            if current.status is not lifecycle.Status.ACTIVE:
                raise FailedPrecondition(f"the store is {current.status}; it cannot be closed here")
            return lifecycle.close(current, "closed by the merchant", now, self._grace)

        async def confirm(
            conn: asyncpg.Connection, _before: lifecycle.Lifecycle, _after: lifecycle.Lifecycle
        ) -> None:
            # Checked in the closing transaction: a failed check rolls the closing back.
            pending = await self._repo.pending(conn, store_id, rules.Purpose.CLOSE_STORE)
            rules.check_confirmation(pending, token, "confirmation_token", now)
            actual = await conn.fetchval("SELECT subdomain FROM stores WHERE id = $1", store_id)
            rules.check_subdomain_typed(subdomain, str(actual))
            await self._repo.consume(conn, store_id, rules.Purpose.CLOSE_STORE)

        _, closed = await self._statuses.change(store_id, decide, confirm)
        return closed
