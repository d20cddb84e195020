"""Admin access tokens a merchant issues to staff and apps: least privilege, never wider than
the token that issues them. Plain Python: no gRPC, SQL or Redis here."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.common import limits
from services.common.errors import PermissionDenied, Validator

MAX_TOKEN_NAME = limits.TOKEN_NAME
TOKEN_PREFIX = "shpat_"

ALL_SCOPES = frozenset(
    {
        "read_store",
        "manage_settings",
        "read_products",
        "write_products",
        "write_inventory",
        "read_orders",
        "write_orders",
        # Mark orders shipped (fulfillments with tracking).
        "write_fulfillments",
        # Shipping zones and rates, tax rates and tax settings: read; create, change, delete.
        "read_shipping",
        "write_shipping",
        # Customers: list and read; update (note, tags, consent) and erase.
        "read_customers",
        "write_customers",
        "manage_domains",
        "manage_webhooks",
        # Sales reports (orders, gross and net sales, refunds, top products).
        "read_reports",
        # Stripe onboarding, the balance and payouts.
        "manage_payments",
        # Create, list and revoke access tokens (never wider than the caller's own scopes).
        "manage_access_tokens",
        # Change the owner email, close the store.
        "manage_ownership",
    }
)
# The token a store is created with: everything.
FIRST_TOKEN_SCOPES = tuple(sorted(ALL_SCOPES))


@dataclass(frozen=True)
class IssuedToken:
    """A token as its creator sees it once: the secret is never shown again."""

    id: str
    token: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class NewToken:
    name: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class TokenInfo:
    id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None


def validate_new_token(name: str, scopes: Iterable[str], caller_scopes: frozenset[str]) -> NewToken:
    v = Validator()
    name = name.strip()
    if limits.check_text(v, "name", name, MAX_TOKEN_NAME):
        v.check(bool(name), "name", f"must be 1 to {MAX_TOKEN_NAME} characters")
    wanted = [s.strip() for s in scopes]
    unknown = sorted({s for s in wanted if s not in ALL_SCOPES})
    if not wanted:
        v.fail("scopes", f"name at least one of: {', '.join(sorted(ALL_SCOPES))}")
    elif unknown:
        v.fail(
            "scopes",
            f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(sorted(ALL_SCOPES))}",
        )
    v.raise_if_any()
    wider = sorted(set(wanted) - caller_scopes)
    if wider:
        # A token can hand out only what it has itself, or one leaked narrow token could mint
        # a full one.
        raise PermissionDenied(
            f"scopes: the calling token lacks {', '.join(wider)}; it can only grant its own scopes"
        )
    return NewToken(name, tuple(sorted(set(wanted))))


def new_access_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> bytes:
    """What is stored and looked up: the secret itself never is."""
    return hashlib.sha256(token.encode()).digest()
