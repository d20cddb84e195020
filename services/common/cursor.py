"""Keyset pages, the same way for every list of every API.

- `page_size(requested, default, maximum)`: 0 means the list's default, larger values are
  clamped to its maximum (a client asking for "everything" still works), negative ones are
  INVALID_ARGUMENT naming page_size.
- `encode(kind, filters, key)` / `decode(token, kinds, filters)`: an opaque token holding the
  position after which the next page starts (the last row's sort key, id last) and what it was
  issued for — the list and ordering (`kind`) and a fingerprint of every filter that shaped the
  page. Reused with another ordering or filter, its position would point into a different
  sequence and silently skip or repeat rows, so it is refused (INVALID_ARGUMENT naming
  page_token). Keyset, not offset: rows inserted while a client pages never shift the pages
  still to come.

Tokens are not signed: a forged one can only move a client around rows RLS already lets it see.
Plain Python: no gRPC or SQL here."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from services.common.errors import InvalidArgument

VERSION = 3

KeyPart = datetime | int | str | float | bool | uuid.UUID
# Each ordering's key types, in order (the row id last), e.g. {"newest": (datetime, uuid.UUID)}.
Kinds = Mapping[str, tuple[type, ...]]


def page_size(requested: int, default: int = 50, maximum: int = 250) -> int:
    if requested < 0:
        raise InvalidArgument.field("page_size", f"must be between 1 and {maximum}")
    return min(requested or default, maximum)


# A page stops early when its rows' large text (descriptions, image lists) passes this many
# characters, so the fullest page stays under the 4 MiB message cap (services/common/limits.py)
# even at four UTF-8 bytes a character; the page still carries a next_page_token.
PAGE_TEXT_BUDGET = 768 * 1024


def rows_within(
    rows: Sequence[Any], size: int, weight: Callable[[Any], int], budget: int = PAGE_TEXT_BUDGET
) -> int:
    """How many of the first `size` rows one page holds: all unless their `weight` passes
    `budget`, never fewer than one. The next token starts after the last row kept."""
    total = 0
    for n, row in enumerate(rows[:size]):
        total += weight(row)
        if total > budget and n > 0:
            return n
    return min(size, len(rows))


def fingerprint(filters: Mapping[str, object]) -> str:
    """Short stable digest of the filters (JSON-able values) a page belongs to."""
    raw = json.dumps(
        filters, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()


def _out(part: KeyPart) -> object:
    if isinstance(part, datetime):
        return part.isoformat()
    if isinstance(part, uuid.UUID):
        return str(part)
    return part


def encode(kind: str, filters: Mapping[str, object], key: tuple[KeyPart, ...]) -> str:
    raw = json.dumps(
        {"v": VERSION, "k": kind, "f": fingerprint(filters), "a": [_out(p) for p in key]},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _bad(description: str) -> InvalidArgument:
    return InvalidArgument.field("page_token", description)


def decode(
    token: str, kinds: Kinds, filters: Mapping[str, object]
) -> tuple[str, tuple[KeyPart, ...]]:
    """The token's kind (one of `kinds`) and key; INVALID_ARGUMENT naming page_token when it is
    not ours, or was issued for another ordering or other filters."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(data, dict) or data.get("v") != VERSION:
            raise ValueError("version")
        kind, fp, raw = data["k"], data["f"], data["a"]
        if not isinstance(kind, str) or not isinstance(raw, list):
            raise TypeError("shape")
    except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError):
        raise _bad("is not a token this API issued; pass next_page_token unchanged") from None
    if kind not in kinds or fp != fingerprint(filters):
        raise _bad(
            "was issued for another list, sort or filter; repeat them unchanged with it, "
            "or start again without page_token"
        )
    types = kinds[kind]
    try:
        if len(raw) != len(types):
            raise ValueError("length")
        key = tuple(_part(t, value) for t, value in zip(types, raw, strict=True))
    except (ValueError, TypeError, AttributeError):
        raise _bad("is not a token this API issued; pass next_page_token unchanged") from None
    return kind, key


def _part(key_type: type, raw: object) -> KeyPart:
    if key_type is datetime:
        if not isinstance(raw, str):
            raise TypeError("key")
        value = datetime.fromisoformat(raw)
        if value.tzinfo is None:
            raise ValueError("naive timestamp")
        return value
    if key_type is uuid.UUID:
        if not isinstance(raw, str):
            raise TypeError("key")
        return uuid.UUID(raw)
    if key_type is float and isinstance(raw, int) and not isinstance(raw, bool):
        return float(raw)
    if type(raw) is not key_type:
        raise TypeError("key")
    return raw  # type: ignore[return-value]
