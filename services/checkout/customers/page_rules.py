"""Opaque page tokens of the customer lists, bound to what they were issued for. Plain Python.

A token carries the last row's sort key and id, the ordering and a digest of the filters; one
reused with another query or ordering would point into a different list and skip or repeat
customers, so it is refused (INVALID_ARGUMENT naming page_token)."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import datetime
from typing import Any

from services.common.errors import InvalidArgument

VERSION = 1
_KEY_TYPES: dict[str, type] = {"newest": datetime, "total_spent": int, "orders": datetime}


def digest(criteria: dict[str, Any]) -> str:
    raw = json.dumps(criteria, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()


def encode(kind: str, criteria: dict[str, Any], key: datetime | int, row_id: uuid.UUID) -> str:
    value = key.isoformat() if isinstance(key, datetime) else key
    raw = json.dumps(
        {"v": VERSION, "k": kind, "f": digest(criteria), "a": [value, str(row_id)]},
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(token: str, kind: str, criteria: dict[str, Any]) -> tuple[datetime | int, uuid.UUID]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(data, dict) or data.get("v") != VERSION:
            raise ValueError("version")
        issued_kind, fp, (raw_key, raw_id) = data["k"], data["f"], data["a"]
        key_type = _KEY_TYPES[issued_kind]
        key: datetime | int
        if key_type is datetime:
            key = datetime.fromisoformat(raw_key)
            if key.tzinfo is None:
                raise ValueError("naive timestamp")
        elif type(raw_key) is int:
            key = raw_key
        else:
            raise TypeError("key")
        row_id = uuid.UUID(raw_id)
    except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError):
        raise InvalidArgument.field(
            "page_token", "is not a token this API issued; pass next_page_token unchanged"
        ) from None
    if issued_kind != kind or fp != digest(criteria):
        raise InvalidArgument.field(
            "page_token",
            "was issued for another query or sort; repeat them unchanged with it, or start"
            " again without page_token",
        )
    return key, row_id


def page_size(requested: int, default: int, maximum: int) -> int:
    if requested < 0:
        raise InvalidArgument.field("page_size", f"must be between 1 and {maximum}")
    return min(requested or default, maximum)
