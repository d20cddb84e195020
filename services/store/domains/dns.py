"""TXT look-ups with dnspython, against a configurable nameserver and with a bounded time."""

from __future__ import annotations

import logging

import dns.asyncresolver
import dns.exception
import dns.resolver

from services.store.domains.rules import Lookup

log = logging.getLogger(__name__)


class TxtLookup:
    def __init__(self, nameserver: str, timeout: float) -> None:
        """`nameserver` is "IP" or "IP:port" (IPv4); empty means the system's resolv.conf."""
        if nameserver:
            host, sep, port = nameserver.rpartition(":")
            if not sep:
                host, port = nameserver, ""
            self._resolver = dns.asyncresolver.Resolver(configure=False)
            self._resolver.nameservers = [host]
            if port:
                self._resolver.port = int(port)
        else:
            self._resolver = dns.asyncresolver.Resolver()
        # One bound for the whole look-up, retries included: the caller is waiting.
        self._resolver.timeout = timeout
        self._resolver.lifetime = timeout
        self._timeout = timeout

    async def values(self, name: str) -> list[str] | None:
        """Every TXT record at `name`, each record's strings joined (long values are split into
        255-byte strings by DNS providers). None when there is no such record; raises
        `LookupFailed` when DNS gave no usable answer (timeout, SERVFAIL)."""
        try:
            answer = await self._resolver.resolve(name, "TXT", search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.YXDOMAIN):
            return None
        except (dns.resolver.NoNameservers, dns.exception.Timeout) as exc:
            log.info("TXT look-up of %s failed: %s", name, exc)
            raise LookupFailed(str(exc)) from exc
        return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]

    async def check(self, name: str, token: str) -> Lookup:
        try:
            values = await self.values(name)
        except LookupFailed:
            return Lookup.ERROR
        return Lookup.MATCH if values and token in (v.strip() for v in values) else Lookup.MISSING


class LookupFailed(Exception):
    pass
