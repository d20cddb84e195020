"""Webhook rules: how long a rotated-out secret keeps signing. Plain Python."""

from __future__ import annotations

from services.common.errors import InvalidArgument

DEFAULT_OVERLAP_SECONDS = 24 * 3600
MAX_OVERLAP_SECONDS = 7 * 24 * 3600


def overlap_seconds(requested: int | None, default: int = DEFAULT_OVERLAP_SECONDS) -> int:
    """The overlap window of a rotation: the merchant's value (0 = the old secret stops at
    once, e.g. it leaked), or the configured default when they sent none."""
    if requested is None:
        return default
    if not 0 <= requested <= MAX_OVERLAP_SECONDS:
        raise InvalidArgument.field(
            "overlap_seconds", f"must be between 0 and {MAX_OVERLAP_SECONDS} (7 days)"
        )
    return requested
