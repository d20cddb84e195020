"""Settings only the Store service reads (custom-domain verification), from environment
variables with local defaults. The shared ones are in services.common.config."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.config import env, env_float


@dataclass(frozen=True)
class DomainSettings:
    # "IP" or "IP:port" of the resolver to ask; empty: the system's resolv.conf.
    nameserver: str
    # Upper bound of one TXT look-up, retries included.
    dns_timeout: float
    # TXT records live at _<brand>-verify.<domain>.
    brand: str
    # How often a verified domain's record is looked up again, and how long it may be missing
    # before the domain goes back to pending.
    recheck_interval: float
    recheck_grace: float

    @classmethod
    def from_env(cls, platform_domain: str) -> DomainSettings:
        return cls(
            nameserver=env("DNS_NAMESERVER", ""),
            dns_timeout=env_float("DNS_TIMEOUT_SECONDS", 3.0),
            brand=env("DOMAIN_VERIFY_BRAND", platform_domain.split(".")[0]),
            recheck_interval=env_float("DOMAIN_RECHECK_INTERVAL_SECONDS", 3600.0),
            recheck_grace=env_float("DOMAIN_RECHECK_GRACE_SECONDS", 72 * 3600.0),
        )
