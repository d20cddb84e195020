"""Ids that arrive in requests. One rule for every API: a malformed id is the caller's typo
(INVALID_ARGUMENT naming the field); a well-formed id that matches nothing is NOT_FOUND, which
the repository that looked it up raises."""

from __future__ import annotations

import uuid

from services.common.errors import InvalidArgument


def parse_uuid(raw: str, field: str) -> uuid.UUID:
    """The UUID in `raw`, or INVALID_ARGUMENT naming `field`."""
    try:
        return uuid.UUID(raw)
    except (ValueError, TypeError, AttributeError):
        if not raw:
            raise InvalidArgument.field(field, "is required") from None
        raise InvalidArgument.field(field, "is not a valid id (a UUID)") from None


def uuid_or_none(raw: str) -> uuid.UUID | None:
    """For ids read back from our own stores (a cart line's variant): a bad one is just absent."""
    try:
        return uuid.UUID(raw)
    except (ValueError, TypeError, AttributeError):
        return None
