"""Opaque page tokens for the storefront's keyset pages.

A token carries the position after which the next page starts (the last row's sort key and id)
and what it was issued for: the ordering (`kind`) and a fingerprint of the filters or query.
Reused with another sort, filter or query, its position would point into a different ordering
and silently skip or repeat products, so it is refused instead (INVALID_ARGUMENT naming
page_token). Tokens are not signed: a forged one can only move a client around the store's own
active catalog, which RLS already confines it to."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from services.common.errors import InvalidArgument

VERSION = 2
# The type of each ordering's sort key, as it travels in JSON.
_KEY_TYPES: dict[str, type] = {
    "newest": datetime,
    "price_asc": int,
    "price_desc": int,
    "title": str,
    "search": float,
    "fuzzy": float,
}

SortKey = datetime | int | str | float


@dataclass(frozen=True)
class Position:
    key: SortKey
    id: uuid.UUID


def fingerprint(criteria: dict) -> str:
    """Short stable digest of the filters or query a page belongs to."""
    raw = json.dumps(criteria, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()


def encode(kind: str, criteria_fp: str, position: Position) -> str:
    key = position.key.isoformat() if isinstance(position.key, datetime) else position.key
    raw = json.dumps(
        {"v": VERSION, "k": kind, "f": criteria_fp, "a": [key, str(position.id)]},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _bad(description: str) -> InvalidArgument:
    return InvalidArgument.field("page_token", description)


def decode(token: str, kinds: tuple[str, ...], criteria_fp: str) -> tuple[str, Position]:
    """The token's kind (one of `kinds`) and position; INVALID_ARGUMENT when it is not ours or
    was issued for another ordering, filter or query."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(data, dict) or data.get("v") != VERSION:
            raise ValueError("version")
        kind, fp, (raw_key, raw_id) = data["k"], data["f"], data["a"]
        key_type = _KEY_TYPES[kind]
        key = _key(key_type, raw_key)
        position = Position(key, uuid.UUID(raw_id))
    except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError):
        raise _bad("is not a token this API issued; pass next_page_token unchanged") from None
    if kind not in kinds or fp != criteria_fp:
        raise _bad(
            "was issued for another sort, filter or query; repeat them unchanged with it, "
            "or start again without page_token"
        )
    return kind, position


def _key(key_type: type, raw: object) -> SortKey:
    if key_type is datetime:
        if not isinstance(raw, str):
            raise TypeError("key")
        value = datetime.fromisoformat(raw)
        if value.tzinfo is None:
            raise ValueError("naive timestamp")
        return value
    if key_type is float and isinstance(raw, int) and not isinstance(raw, bool):
        return float(raw)
    if type(raw) is not key_type or not isinstance(raw, int | float | str):
        raise TypeError("key")
    return raw
