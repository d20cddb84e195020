"""Issues certificates for verified custom domains and renews them when due: a worker in the
Store process. Verifying a domain wakes it, so issuance starts at once; otherwise it looks every
`interval` seconds. Removing a domain deletes its certificate in the same statement (the
foreign key cascades), so nothing here has to chase removals."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from services.common.workers import PeriodicWorker
from services.store.certificates.issuers import Issuer
from services.store.certificates.repository import CertificateRepository, DueDomain
from services.store.certificates.sealing import KeySealer

log = logging.getLogger(__name__)

BATCH = 50
# ACME orders wait on the CA's validation; a few at a time keeps one slow order from holding
# the batch, and stays well inside a public CA's rate limits.
CONCURRENCY = 4


class CertificateProvisioner(PeriodicWorker):
    name = "certificate-provisioner"

    def __init__(
        self,
        certificates: CertificateRepository,
        issuer: Issuer,
        sealer: KeySealer,
        *,
        interval: float,
        retry_after: float,
    ) -> None:
        super().__init__()
        self._certificates = certificates
        self._issuer = issuer
        self._sealer = sealer
        self.interval = interval
        self._retry_after = timedelta(seconds=retry_after)

    async def run_once(self) -> bool:
        now = datetime.now(UTC)
        due = await self._certificates.due(now, now - self._retry_after, BATCH)
        limit = asyncio.Semaphore(CONCURRENCY)
        await asyncio.gather(*(self._provision(item, limit) for item in due))
        return len(due) == BATCH

    async def _provision(self, item: DueDomain, limit: asyncio.Semaphore) -> None:
        try:
            async with limit:
                issued = await self._issuer.issue(item.store_id, item.domain)
        except Exception as exc:
            # The exception's type and message only: an issuer's error never carries a key,
            # but a traceback's locals in a log handler might.
            log.warning(
                "certificate for %s (store %s) not issued by %s: %s: %s",
                item.domain,
                item.store_id,
                self._issuer.name,
                type(exc).__name__,
                exc,
            )
            await self._certificates.record_failure(item.store_id, item.domain)
            return
        sealed = self._sealer.seal(issued.key_pem)
        stored = await self._certificates.save(
            item.store_id, issued, sealed, issued.record.renew_after()
        )
        if stored:
            log.info(
                "certificate for %s (store %s) issued by %s: serial %s, expires %s",
                item.domain,
                item.store_id,
                issued.issuer,
                issued.record.serial,
                issued.record.not_after.isoformat(),
            )
