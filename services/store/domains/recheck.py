"""Looks up verified domains' TXT records again, periodically. A record gone for longer than
the grace period sends the domain back to pending (and so out of the edge's routes); a DNS
failure (timeout, SERVFAIL) never does."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from services.common.workers import PeriodicWorker
from services.store.domains.dns import TxtLookup
from services.store.domains.repository import DomainRepository, DueDomain
from services.store.domains.rules import recheck, verification_name

log = logging.getLogger(__name__)

BATCH = 200
CONCURRENCY = 16


class DomainRechecker(PeriodicWorker):
    name = "domain-recheck"

    def __init__(
        self,
        domains: DomainRepository,
        dns: TxtLookup,
        brand: str,
        *,
        interval: float,
        grace: float,
    ) -> None:
        super().__init__()
        self._domains = domains
        self._dns = dns
        self._brand = brand
        self._recheck_interval = interval
        self._grace = timedelta(seconds=grace)
        # Wake several times per interval so a domain is re-checked about `interval` after its
        # last check, not up to twice that.
        self.interval = self.initial_delay = max(0.05, min(interval / 4, 60.0))

    async def run_once(self) -> bool:
        """Re-checks one batch of the domains that are due; True if more may be due."""
        due = await self._domains.due_for_recheck(
            datetime.now(UTC) - timedelta(seconds=self._recheck_interval), BATCH
        )
        # Look-ups wait on DNS, not on us: a few at a time keeps a slow nameserver from
        # stretching one pass over the whole batch's timeouts.
        limit = asyncio.Semaphore(CONCURRENCY)
        await asyncio.gather(*(self._recheck(item, limit) for item in due))
        return len(due) == BATCH

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
