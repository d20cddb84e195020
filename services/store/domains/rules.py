"""Custom-domain rules: normalisation, validation, the TXT record that proves control, and the
re-check decision. Plain Python: no gRPC, SQL or DNS here."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

import idna

from services.common.errors import InvalidArgument

# After IDNA: dot-separated labels of a-z, 0-9 and inner hyphens; an alphabetic (or punycode)
# top-level label, so IP addresses and single-label names never qualify.
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
DOMAIN_RE = re.compile(rf"^(?:{_LABEL}\.)+(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}})$")
MAX_DOMAIN_LENGTH = 253


def normalise_domain(raw: str, platform_domain: str, field: str = "domain") -> str:
    """Lowercase ASCII (IDNA 2008 with UTS 46 mapping), no trailing dot, validated. Hosts under
    the platform domain are the platform's to hand out, never a custom domain."""
    text = raw.strip().rstrip(".")
    if not text:
        raise InvalidArgument.field(field, "must be a domain name such as shop.example.com")
    try:
        ascii_name = idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise InvalidArgument.field(field, f"is not a valid domain name ({exc})") from None
    if len(ascii_name) > MAX_DOMAIN_LENGTH or not DOMAIN_RE.match(ascii_name):
        raise InvalidArgument.field(
            field, "must be a domain name such as shop.example.com (letters, digits, hyphens)"
        )
    if ascii_name == platform_domain or ascii_name.endswith(f".{platform_domain}"):
        raise InvalidArgument.field(
            field, f"hosts under {platform_domain} are reserved by the platform"
        )
    return ascii_name


def verification_name(domain: str, brand: str) -> str:
    return f"_{brand}-verify.{domain}"


def new_verification_token() -> str:
    return f"verify-{secrets.token_urlsafe(24)}"


class DomainState(Enum):
    PENDING = "pending"
    VERIFIED = "verified"


@dataclass(frozen=True)
class CustomDomain:
    domain: str
    verification_token: str
    verified_at: datetime | None
    is_primary: bool
    created_at: datetime
    last_checked_at: datetime | None
    # Its certificate (services/store/certificates): when it was last issued, when it expires.
    ssl_provisioned_at: datetime | None = None
    ssl_expires_at: datetime | None = None

    @property
    def state(self) -> DomainState:
        return DomainState.VERIFIED if self.verified_at else DomainState.PENDING


class Lookup(Enum):
    """What DNS said about the verification record."""

    MATCH = "match"  # a TXT record holds the token
    MISSING = "missing"  # NXDOMAIN, no TXT, or TXT without the token
    ERROR = "error"  # timeout or SERVFAIL: says nothing about the record


@dataclass(frozen=True)
class Recheck:
    failing_since: datetime | None
    unverify: bool


def recheck(
    lookup: Lookup, failing_since: datetime | None, now: datetime, grace: timedelta
) -> Recheck:
    """A verified domain whose record is gone keeps routing for the grace period (a DNS edit
    gone wrong should not take a shop offline at once), then goes back to pending. Lookup errors
    never count against the domain."""
    if lookup is Lookup.MATCH:
        return Recheck(None, False)
    if lookup is Lookup.ERROR:
        return Recheck(failing_since, False)
    since = failing_since or now
    return Recheck(since, now - since >= grace)
