"""What a merchant may change about the store itself: the owner email (confirmed from the new
address), the currency (only before the first order), and closing it (confirmed twice).
Plain Python: no gRPC, SQL or Redis here."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from services.common.errors import FailedPrecondition, InvalidArgument
from services.store.stores.rules import CURRENCIES, EMAIL_RE

MAX_EMAIL = 254
MAX_TOKEN = 100
OWNER_EMAIL_VALIDITY = timedelta(hours=24)
CLOSURE_VALIDITY = timedelta(minutes=10)


class Purpose(StrEnum):
    OWNER_EMAIL = "owner_email"
    CLOSE_STORE = "close_store"


@dataclass(frozen=True)
class Confirmation:
    """A pending change the merchant still has to confirm; only the token's hash is kept."""

    purpose: Purpose
    token_hash: bytes
    requested_at: datetime
    expires_at: datetime
    new_email: str | None = None


def _bounded(raw: str, field: str, limit: int) -> str:
    value = raw.strip()
    if "\x00" in value:
        raise InvalidArgument.field(field, "must not contain NUL characters")
    if len(value) > limit:
        raise InvalidArgument.field(field, f"must be at most {limit} characters")
    return value


def validate_owner_email(raw: str, current: str) -> str:
    email = _bounded(raw, "new_email", MAX_EMAIL)
    if not EMAIL_RE.match(email):
        raise InvalidArgument.field("new_email", "must be an email address such as me@example.com")
    if email.lower() == current.lower():
        raise InvalidArgument.field("new_email", "is already the store's owner email")
    return email


def validate_currency(raw: str) -> str:
    currency = _bounded(raw, "currency", 3).upper()
    if currency not in CURRENCIES:
        raise InvalidArgument.field("currency", "must be an ISO 4217 code such as USD or EUR")
    return currency


def hash_secret(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_confirmation(
    purpose: Purpose, now: datetime, new_email: str | None = None
) -> tuple[str, Confirmation]:
    """The secret (mailed or returned once) and what is stored of it."""
    token = secrets.token_urlsafe(18)
    validity = OWNER_EMAIL_VALIDITY if purpose is Purpose.OWNER_EMAIL else CLOSURE_VALIDITY
    return token, Confirmation(purpose, hash_secret(token), now, now + validity, new_email)


def check_confirmation(
    pending: Confirmation | None, raw_token: str, field: str, now: datetime
) -> Confirmation:
    token = _bounded(raw_token, field, MAX_TOKEN)
    if not token:
        raise InvalidArgument.field(field, "is required")
    if pending is None:
        raise FailedPrecondition(f"{field}: nothing is waiting for a confirmation; ask again")
    if not hmac.compare_digest(pending.token_hash, hash_secret(token)):
        raise FailedPrecondition(f"{field}: does not match the pending request")
    if now >= pending.expires_at:
        raise FailedPrecondition(f"{field}: has expired; ask again")
    return pending


def check_subdomain_typed(raw: str, subdomain: str) -> None:
    typed = _bounded(raw, "subdomain", 63).lower()
    if typed != subdomain:
        raise InvalidArgument.field(
            "subdomain", f"type the store's subdomain ('{subdomain}') to confirm closing it"
        )


def currency_refusal(orders: int, open_checkouts: int) -> FailedPrecondition | None:
    """The currency labels every amount the store has; once money moved in it, it stays."""
    if orders:
        return FailedPrecondition(
            f"the currency can change only while the store has no orders; it has {orders}"
        )
    if open_checkouts:
        return FailedPrecondition(
            "a checkout is in progress; the currency can change once it has finished"
        )
    return None
