"""Use cases of custom domains: register, verify through DNS, list, remove, make primary."""

from __future__ import annotations

from collections.abc import Callable

from services.common.errors import FailedPrecondition, Unavailable
from services.common.tenancy import require_store_id
from services.store.domains.dns import LookupFailed, TxtLookup
from services.store.domains.repository import DomainRepository
from services.store.domains.rules import (
    CustomDomain,
    new_verification_token,
    normalise_domain,
    verification_name,
)


class CustomDomains:
    def __init__(
        self,
        domains: DomainRepository,
        dns: TxtLookup,
        brand: str,
        platform_domain: str,
        *,
        on_verified: Callable[[], None] = lambda: None,
    ) -> None:
        self._domains = domains
        # Starts certificate issuance at once (wakes the provisioner) instead of at its next
        # pass.
        self._on_verified = on_verified
        self._dns = dns
        self._brand = brand
        self._platform = platform_domain

    def record_name(self, domain: str) -> str:
        return verification_name(domain, self._brand)

    def normalise(self, raw: str) -> str:
        return normalise_domain(raw, self._platform)

    async def register(self, raw: str) -> CustomDomain:
        domain = self.normalise(raw)
        return await self._domains.add(require_store_id(), domain, new_verification_token())

    async def verify(self, raw: str) -> CustomDomain:
        current = await self._domains.get(self.normalise(raw))
        if current.verified_at is not None:
            return current
        name = self.record_name(current.domain)
        try:
            values = await self._dns.values(name)
        except LookupFailed:
            # Says nothing about the record: retryable, and never a reason to un-verify.
            raise Unavailable(
                f"DNS look-up of {name} did not answer in time or failed; try again shortly"
            ) from None
        if values is None:
            raise FailedPrecondition(
                f"domain: still pending; no TXT record at {name}: create it with the value"
                f" {current.verification_token}"
            )
        if current.verification_token not in (v.strip() for v in values):
            raise FailedPrecondition(
                f"domain: still pending; the TXT record at {name} does not hold this store's"
                f" token: set its value to {current.verification_token}"
            )
        verified = await self._domains.mark_verified(current.domain)
        self._on_verified()
        return verified

    async def list(self, size: int, page_token: str) -> tuple[list[CustomDomain], str]:
        return await self._domains.list(size, page_token)

    async def remove(self, raw: str) -> None:
        await self._domains.remove(self.normalise(raw))

    async def set_primary(self, raw: str, platform_host: str) -> None:
        host = raw.strip().rstrip(".").lower()
        if host == platform_host:
            await self._domains.set_primary(None)
        else:
            await self._domains.set_primary(self.normalise(raw))
