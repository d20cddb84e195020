"""Certificates of custom domains: what one is (the record), when it is due for renewal, and
which domains need one issued.

Renewal: at two thirds of the certificate's lifetime, and never later than 30 days before it
expires (the earlier of the two). A 90-day certificate (ACME's usual) is renewed at day 60,
leaving a month of retries if the CA is down; a 60-day one at day 30; one shorter than 30 days
(a test's) at 2/3 of whatever it has. Let's Encrypt's own guidance is the same 2/3 rule."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

RENEW_AT_FRACTION = 2 / 3
RENEW_AT_LATEST_BEFORE_EXPIRY = timedelta(days=30)


@dataclass(frozen=True)
class CertificateRecord:
    """The public facts of a domain's certificate (never its key)."""

    domain: str
    not_before: datetime
    not_after: datetime
    serial: str

    def __post_init__(self) -> None:
        if self.not_after <= self.not_before:
            raise ValueError("a certificate must expire after it starts")

    @property
    def lifetime(self) -> timedelta:
        return self.not_after - self.not_before

    def renew_after(self) -> datetime:
        """The moment renewal is due: 2/3 of the lifetime, or 30 days before expiry if that
        comes first (it does for lifetimes between 30 and 90 days)."""
        by_fraction = self.not_before + self.lifetime * RENEW_AT_FRACTION
        by_margin = self.not_after - RENEW_AT_LATEST_BEFORE_EXPIRY
        # A certificate shorter than the margin would be due at once: the fraction decides.
        if by_margin <= self.not_before:
            return by_fraction
        return min(by_fraction, by_margin)

    def renewal_due(self, now: datetime) -> bool:
        return now >= self.renew_after()

    def valid_at(self, now: datetime) -> bool:
        return self.not_before <= now < self.not_after


@dataclass(frozen=True)
class IssuanceCandidate:
    """A custom domain as issuance sees it."""

    domain: str
    verified: bool
    certificate: CertificateRecord | None


def needs_issuance(domain: IssuanceCandidate, now: datetime) -> bool:
    """A verified domain without a certificate, or whose certificate is due for renewal.
    A pending domain never gets one: a CA would refuse it, and so do we."""
    if not domain.verified:
        return False
    return domain.certificate is None or domain.certificate.renewal_due(now)


def domains_to_issue(domains: Iterable[IssuanceCandidate], now: datetime) -> list[str]:
    return [d.domain for d in domains if needs_issuance(d, now)]
