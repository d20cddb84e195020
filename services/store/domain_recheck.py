"""Looks up verified domains' TXT records again, periodically. A record gone for longer than
the grace period sends the domain back to pending (and so out of the edge's routes); a DNS
failure (timeout, SERVFAIL) never does."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from services.store.dns_txt import TxtLookup
from services.store.domain_repository import DomainRepository, DueDomain
from services.store.domains import recheck, verification_name

log = logging.getLogger(__name__)

BATCH = 200
CONCURRENCY = 16


class DomainRechecker:
    def __init__(
        self,
        domains: DomainRepository,
        dns: TxtLookup,
        brand: str,
        *,
        interval: float,
        grace: float,
    ) -> None:
        self._domains = domains
        self._dns = dns
        self._brand = brand
        self._interval = interval
        self._grace = timedelta(seconds=grace)
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        # Wake several times per interval so a domain is re-checked about `interval` after its
        # last check, not up to twice that.
        pause = max(0.05, min(self._interval / 4, 60.0))
        while True:
            await asyncio.sleep(pause)
            try:
                await self.run_once()
            except Exception:
                log.exception("domain re-check failed; retrying in %.1fs", pause)

    async def run_once(self) -> int:
        """Re-checks every domain that is due; returns how many were looked up."""
        checked = 0
        while True:
            now = datetime.now(UTC)
            due = await self._domains.due_for_recheck(
                now - timedelta(seconds=self._interval), BATCH
            )
            # Look-ups wait on DNS, not on us: a few at a time keeps a slow nameserver from
            # stretching one pass over the whole batch's timeouts.
            limit = asyncio.Semaphore(CONCURRENCY)
            await asyncio.gather(*(self._recheck(item, limit) for item in due))
            checked += len(due)
            if len(due) < BATCH:
                return checked

    async def _recheck(self, item: DueDomain, limit: asyncio.Semaphore) -> None:
        async with limit:
            lookup = await self._dns.check(
                verification_name(item.domain, self._brand), item.verification_token
            )
        outcome = recheck(lookup, item.failing_since, datetime.now(UTC), self._grace)
        if outcome.unverify:
            log.warning(
                "domain %s of store %s: TXT record missing since %s; back to pending",
                item.domain,
                item.store_id,
                item.failing_since,
            )
        await self._domains.record_recheck(item.store_id, item.domain, outcome)
