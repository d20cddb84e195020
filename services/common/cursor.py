"""Opaque page tokens for keyset pagination on (created_at, id), newest first. Keyset, not
offset: rows inserted while a client pages never shift or repeat the pages it has not read."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from services.common.errors import InvalidArgument


@dataclass(frozen=True)
class Position:
    created_at: datetime
    id: uuid.UUID


def encode(position: Position) -> str:
    raw = json.dumps({"v": 1, "c": position.created_at.isoformat(), "i": str(position.id)})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(token: str) -> Position:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if data.get("v") != 1:
            raise ValueError("version")
        return Position(datetime.fromisoformat(data["c"]), uuid.UUID(data["i"]))
    except (ValueError, TypeError, KeyError, AttributeError):
        raise InvalidArgument.field(
            "page_token", "is not a token this API issued; pass next_page_token unchanged"
        ) from None
