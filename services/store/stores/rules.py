"""Store signup rules. Plain Python: no gRPC, SQL or Redis here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.common import limits
from services.common.errors import Validator

SUBDOMAIN_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# Hosts the platform itself uses or that would confuse shoppers and mail/DNS setups.
RESERVED_SUBDOMAINS = frozenset(
    """www api admin app apps auth account accounts billing blog cdn checkout dashboard dev docs
    help id login mail media ns1 ns2 pay payments platform shop shops smtp ssl static staging
    status store stores support test webhooks""".split()
)

# ISO 4217 active codes; every price in a store is in its currency's minor units.
CURRENCIES = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
    GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS
    KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR
    MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
    SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD
    TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL""".split()
)


@dataclass(frozen=True)
class NewStore:
    name: str
    subdomain: str
    owner_email: str
    currency: str


@dataclass(frozen=True)
class Store:
    id: int
    name: str
    subdomain: str
    owner_email: str
    currency: str
    created_at: datetime
    theme_id: str = "default"
    low_stock_threshold: int = 5
    settings: dict[str, Any] = field(default_factory=dict)
    plan: str = "standard"
    # The verified custom domain made primary, if any; else shoppers use the platform host.
    primary_custom_domain: str | None = None
    # active, suspended or closed (services.store.lifecycle.rules.Status).
    status: str = "active"
    # An owner email change waiting for its confirmation.
    pending_owner_email: str | None = None
    # A closed store's end of grace: its data is erased after this.
    erase_after: datetime | None = None


def validate_new_store(name: str, subdomain: str, owner_email: str, currency: str) -> NewStore:
    v = Validator()
    name = name.strip()
    subdomain = subdomain.strip().lower()
    owner_email = owner_email.strip()
    currency = currency.strip().upper()
    if limits.check_text(v, "name", name, limits.NAME):
        v.check(bool(name), "name", f"must be 1 to {limits.NAME} characters")
    if not SUBDOMAIN_RE.match(subdomain):
        v.fail(
            "subdomain",
            "must be 3 to 63 characters of a-z, 0-9 and '-', starting and ending with a letter"
            " or digit",
        )
    elif subdomain in RESERVED_SUBDOMAINS:
        v.fail("subdomain", f"'{subdomain}' is reserved by the platform; choose another")
    elif subdomain[2:4] == "--":
        v.fail("subdomain", "must not have '--' in the third and fourth place (IDNA prefix)")
    v.check(
        len(owner_email) <= 254 and bool(EMAIL_RE.match(owner_email)),
        "owner_email",
        "must be an email address such as owner@example.com",
    )
    v.check(currency in CURRENCIES, "currency", "must be an ISO 4217 code such as USD or EUR")
    v.raise_if_any()
    return NewStore(name, subdomain, owner_email, currency)
