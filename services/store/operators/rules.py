"""The platform's operators: their credentials (not store tokens: another prefix, another table,
their own scopes), what an operator may ask for, and what the audit trail records. Plain
Python: no gRPC, SQL or Redis here."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.common.errors import InvalidArgument, Validator
from services.common.plans import PLANS
from services.store.lifecycle.rules import Status

OPERATOR_TOKEN_PREFIX = "shpop_"
MAX_NAME = 100

OPERATOR_SCOPES = frozenset(
    {
        # GetStore, ListStores.
        "read_stores",
        # ChangePlan.
        "manage_plans",
        # SuspendStore, ReinstateStore.
        "suspend_stores",
        # CloseStore (the data is erased after the grace period).
        "close_stores",
        # ListAuditEvents.
        "read_audit",
    }
)

SUBDOMAIN_PREFIX_RE = re.compile(r"^[a-z0-9-]+$")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_FILTER = 254


@dataclass(frozen=True)
class Operator:
    """Who is calling: a credential, resolved from its hash."""

    id: uuid.UUID
    name: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class NewCredential:
    name: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class CredentialInfo:
    id: uuid.UUID
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class AuditEntry:
    """One audited call: who (credential id and name), what (action, store, request), the
    outcome, and the store's lifecycle fields before and after. `when` is the database's."""

    actor: str
    action: str
    request: dict[str, Any]
    operator_id: uuid.UUID | None = None
    store_id: int | None = None
    outcome: str = "OK"
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


@dataclass(frozen=True)
class StoreQuery:
    page_size: int
    page_token: str
    subdomain_prefix: str | None = None
    domain: str | None = None
    owner_email: str | None = None
    status: Status | None = None
    plan: str | None = None

    def filters(self) -> dict[str, str | None]:
        """What a page token is bound to."""
        return {
            "subdomain_prefix": self.subdomain_prefix,
            "domain": self.domain,
            "owner_email": self.owner_email,
            "status": None if self.status is None else self.status.value,
            "plan": self.plan,
        }


@dataclass(frozen=True)
class AuditQuery:
    page_size: int
    page_token: str
    store_id: int | None = None
    operator_id: uuid.UUID | None = None

    def filters(self) -> dict[str, str | None]:
        return {
            "store_id": None if self.store_id is None else str(self.store_id),
            "operator_id": None if self.operator_id is None else str(self.operator_id),
        }


def new_operator_token() -> str:
    return OPERATOR_TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_operator_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def validate_new_credential(name: str, scopes: Iterable[str]) -> NewCredential:
    v = Validator()
    name = name.strip()
    v.check(1 <= len(name) <= MAX_NAME, "name", f"must be 1 to {MAX_NAME} characters")
    v.check("\x00" not in name, "name", "must not contain NUL characters")
    wanted = sorted({s.strip() for s in scopes if s.strip()})
    unknown = [s for s in wanted if s not in OPERATOR_SCOPES]
    if not wanted:
        v.fail("scopes", f"name at least one of: {', '.join(sorted(OPERATOR_SCOPES))}")
    elif unknown:
        v.fail(
            "scopes",
            f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(sorted(OPERATOR_SCOPES))}",
        )
    v.raise_if_any()
    return NewCredential(name, tuple(wanted))


def page_size(requested: int) -> int:
    """Documented default 50, clamped to 1..200."""
    if requested <= 0:
        return DEFAULT_PAGE_SIZE
    return min(requested, MAX_PAGE_SIZE)


def parse_store_id(raw: str, field_name: str = "store_id") -> int:
    value = raw.strip()
    if not value:
        raise InvalidArgument.field(field_name, "is required")
    if not value.isascii() or not value.isdigit() or not 0 < int(value) < 2**63:
        raise InvalidArgument.field(field_name, "is not a store id (a positive integer)")
    return int(value)


def _filter(v: Validator, raw: str, name: str) -> str | None:
    value = raw.strip()
    if "\x00" in value:
        v.fail(name, "must not contain NUL characters")
    elif len(value) > MAX_FILTER:
        v.fail(name, f"must be at most {MAX_FILTER} characters")
    return value or None


def validate_store_query(
    *,
    size: int,
    token: str,
    subdomain_prefix: str,
    domain: str,
    owner_email: str,
    status: Status | None,
    plan: str,
) -> StoreQuery:
    v = Validator()
    prefix = _filter(v, subdomain_prefix, "subdomain_prefix")
    if prefix is not None:
        prefix = prefix.lower()
        if len(prefix) > 63 or not SUBDOMAIN_PREFIX_RE.match(prefix):
            v.fail("subdomain_prefix", "must be up to 63 characters of a-z, 0-9 and '-'")
    found_domain = _filter(v, domain, "domain")
    email = _filter(v, owner_email, "owner_email")
    wanted_plan = _filter(v, plan, "plan")
    if wanted_plan is not None and wanted_plan not in PLANS:
        v.fail("plan", f"must be one of {', '.join(PLANS)}")
    v.check(len(token) <= 1000, "page_token", "is not a token this API issued")
    v.raise_if_any()
    return StoreQuery(
        page_size=page_size(size),
        page_token=token,
        subdomain_prefix=prefix,
        domain=found_domain.lower().rstrip(".") if found_domain else None,
        owner_email=email,
        status=status,
        plan=wanted_plan,
    )


def outcome_of(code_name: str, message: str) -> str:
    """An audit row's outcome for a refused call: the status name and the message, bounded."""
    return f"{code_name}: {message}"[:600]


def _fingerprint(filters: dict[str, str | None]) -> str:
    raw = json.dumps(filters, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()


def encode_page_token(last_id: int, filters: dict[str, str | None]) -> str:
    """Keyset position (the last row's id) bound to the filters it was issued for."""
    raw = json.dumps({"v": 1, "a": last_id, "f": _fingerprint(filters)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_page_token(token: str, filters: dict[str, str | None]) -> int | None:
    """The id after which the page starts (None without a token); INVALID_ARGUMENT naming
    page_token for a token that is not ours or was issued for other filters."""
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode()))
        if not isinstance(data, dict) or data.get("v") != 1:
            raise ValueError("version")
        after, fp = data["a"], data["f"]
        if type(after) is not int or not isinstance(fp, str):
            raise TypeError("position")
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise InvalidArgument.field(
            "page_token", "is not a token this API issued; pass next_page_token unchanged"
        ) from None
    if fp != _fingerprint(filters):
        raise InvalidArgument.field(
            "page_token",
            "was issued for other filters; repeat them unchanged with it, or start again"
            " without page_token",
        )
    return after


# google.rpc.Code names, for the audit trail's outcome (the domain errors carry the number).
_STATUS_NAMES = {
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    14: "UNAVAILABLE",
    16: "UNAUTHENTICATED",
}


def status_name(code: int) -> str:
    return _STATUS_NAMES.get(code, f"CODE_{code}")
