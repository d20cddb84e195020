"""What a customer is, and what a valid change to one is. Plain Python: no gRPC, SQL or Redis.

A customer is one person of one store, found by email case-insensitively. The totals are
derived from the orders (orders_count: not cancelled; total_spent: the sum of total - refunded
over every order), so they are never edited here."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.common.errors import InvalidArgument, Validator

MAX_EMAIL = 254
MAX_NAME = 255
MAX_PHONE = 32
MAX_NOTE = 5000
MAX_TAGS = 50
MAX_TAG = 40
MAX_QUERY = 254
# Each Address field (shop.checkout.v1.Address), as copied onto a customer.
MAX_ADDRESS_FIELD = 255
MAX_ADDRESS_JSON = 4000
ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone")

CONSENT_STATES = ("subscribed", "unsubscribed", "not_subscribed")
# How consent was given: by the shopper when registering, or recorded by the merchant.
CONSENT_SOURCES = ("registration", "admin")

RECENT_ORDERS = 10


@dataclass(frozen=True)
class MarketingConsent:
    state: str = "not_subscribed"
    source: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Customer:
    id: uuid.UUID
    email: str | None
    name: str | None
    phone: str | None
    default_address: dict[str, Any] | None
    consent: MarketingConsent
    tags: tuple[str, ...]
    note: str | None
    orders_count: int
    total_spent: int
    currency: str
    has_account: bool
    created_at: datetime
    updated_at: datetime
    erased_at: datetime | None = None

    @property
    def erased(self) -> bool:
        return self.erased_at is not None


@dataclass(frozen=True)
class CustomerChange:
    """An admin update: None leaves a field as it is."""

    note: str | None = None
    tags: tuple[str, ...] | None = None
    consent_state: str | None = None

    @property
    def empty(self) -> bool:
        return self.note is None and self.tags is None and self.consent_state is None


@dataclass(frozen=True)
class CustomerQuery:
    page_size: int
    page_token: str
    query: str
    sort: str  # "newest" | "total_spent"


@dataclass(frozen=True)
class NewCustomer:
    """What the first order of an email knows of its person."""

    email: str
    name: str | None = None
    default_address: dict[str, Any] | None = field(default=None)


def text_ok(value: str, limit: int) -> bool:
    return len(value) <= limit and "\x00" not in value


def check_text(v: Validator, value: str, name: str, limit: int) -> bool:
    if "\x00" in value:
        v.fail(name, "must not contain NUL characters")
        return False
    return v.check(len(value) <= limit, name, f"must be at most {limit} characters")


def normalise_email(raw: str) -> str:
    """Trimmed; compared (never stored) lower-cased."""
    return raw.strip()


def email_key(email: str) -> str:
    """What two spellings of one address share."""
    return email.strip().lower()


def check_email(v: Validator, email: str, name: str = "email") -> bool:
    if not check_text(v, email, name, MAX_EMAIL):
        return False
    local, at, domain = email.rpartition("@")
    return v.check(
        bool(at) and bool(local) and "." in domain.strip(".") and " " not in email,
        name,
        "must be an email address such as ada@example.com",
    )


def validate_email(email: str, name: str = "email") -> str:
    v = Validator()
    email = normalise_email(email)
    check_email(v, email, name)
    v.raise_if_any()
    return email


def normalise_tags(tags: Iterable[str], name: str = "tags") -> tuple[str, ...]:
    """Trimmed, duplicates (case-insensitively) dropped, first spelling kept, order kept."""
    v = Validator()
    seen: dict[str, str] = {}
    for i, raw in enumerate(tags):
        tag = raw.strip()
        if not check_text(v, tag, f"{name}[{i}]", MAX_TAG):
            continue
        if not v.check(bool(tag), f"{name}[{i}]", "must not be empty"):
            continue
        if not v.check("," not in tag, f"{name}[{i}]", "must not contain commas"):
            continue
        seen.setdefault(tag.lower(), tag)
    v.check(len(seen) <= MAX_TAGS, name, f"at most {MAX_TAGS} tags")
    v.raise_if_any()
    return tuple(seen.values())


def validate_change(
    note: str | None, tags: Iterable[str] | None, consent: str | None
) -> CustomerChange:
    v = Validator()
    if note is not None:
        check_text(v, note, "note", MAX_NOTE)
    if consent is not None:
        v.check(
            consent in ("subscribed", "unsubscribed"),
            "marketing_consent.state",
            "must be subscribed or unsubscribed",
        )
    v.raise_if_any()
    change = CustomerChange(
        note=note, tags=None if tags is None else normalise_tags(tags), consent_state=consent
    )
    if change.empty:
        raise InvalidArgument.field(
            "update", "name at least one of note, tags or marketing_consent"
        )
    return change


def validate_query(query: str) -> str:
    v = Validator()
    query = query.strip()
    check_text(v, query, "query", MAX_QUERY)
    v.raise_if_any()
    return query


def like_prefix(query: str) -> str:
    """A LIKE pattern matching strings that start with `query` (lower-cased), its own
    wildcards escaped."""
    escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def address_for_customer(address: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The part of an order's address a customer keeps as default: known fields, strings only,
    within bounds. Anything odd is dropped rather than refused: this runs while an order for a
    succeeded payment is written, which must never fail over it."""
    if not address:
        return None
    kept = {
        k: v
        for k in ADDRESS_FIELDS
        if isinstance(v := address.get(k), str) and v and text_ok(v, MAX_ADDRESS_FIELD)
    }
    # ASCII-escaped JSON is at least as long as the stored form (the CHECK allows 4096 bytes).
    if len(json.dumps(kept)) > MAX_ADDRESS_JSON:
        return None
    return kept or None


def name_for_customer(name: object) -> str | None:
    if not isinstance(name, str):
        return None
    name = name.replace("\x00", "").strip()[:MAX_NAME]
    return name or None


def new_customer_from_order(email: str, shipping: Mapping[str, Any] | None) -> NewCustomer:
    address = address_for_customer(shipping)
    return NewCustomer(
        email=email,
        name=name_for_customer((shipping or {}).get("name")),
        default_address=address,
    )


def order_link_allowed(email: str) -> bool:
    """Whether an order's email can name a customer (the checkout validated it already; an
    order written otherwise, e.g. a legacy one, stays unlinked rather than failing)."""
    v = Validator()
    return check_email(v, email.strip())


def customer_event(customer: Customer) -> dict[str, Any]:
    """The customers/create and customers/update webhook payload."""
    return {
        "customer_id": str(customer.id),
        "email": customer.email,
        "name": customer.name,
        "phone": customer.phone,
        "tags": list(customer.tags),
        "note": customer.note,
        "has_account": customer.has_account,
        "marketing_consent": {
            "state": customer.consent.state,
            "source": customer.consent.source,
            "updated_at": customer.consent.updated_at.isoformat()
            if customer.consent.updated_at
            else None,
        },
        "orders_count": customer.orders_count,
        "total_spent_minor": customer.total_spent,
        "currency": customer.currency,
        "created_at": customer.created_at.isoformat(),
        "updated_at": customer.updated_at.isoformat(),
    }


def checkout_defaults(
    customer: Customer, email: str, shipping: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """A signed-in shopper's checkout: their email, and their default address unless the
    request names one. Another email than the account's is refused rather than silently
    replaced (the order would belong to someone else)."""
    own = customer.email or ""
    if email.strip() and email_key(email) != email_key(own):
        raise InvalidArgument.field(
            "email", "differs from the signed-in account's; leave it empty, or sign out first"
        )
    if not any(shipping.values()) and customer.default_address:
        shipping = dict(customer.default_address)
    return own, shipping
