"""The `Stripe-Version` header: checked, recorded in the request journal, echoed in the response
and stamped on the events a request causes, so a test can assert that a service pins its version.

Stripe answers a version it does not know with 400 `invalid_request_error`, "Invalid Stripe API
version: <value>". The emulator cannot list every released version, so it refuses what cannot be
one: not `YYYY-MM-DD` or `YYYY-MM-DD.<release>`, not a calendar date, or newer than the newest
version it knows (the one the pinned SDK sends)."""

from __future__ import annotations

import datetime as dt
import re

from devstack.stripe_emulator.errors import invalid

API_VERSION = "2026-10-28.endive"  # what the pinned SDK (16.1.0) sends
_FORMAT = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:\.([a-z]+))?")
_NEWEST = dt.date(2026, 10, 28)


def check(header: str | None) -> str | None:
    """The version a request asked for (None: the account's default)."""
    if header is None:
        return None
    match = _FORMAT.fullmatch(header.strip())
    try:
        day = dt.date(*(int(part) for part in match.groups()[:3])) if match else None
    except ValueError:
        day = None
    if day is None or day > _NEWEST:
        raise invalid(f"Invalid Stripe API version: {header}")
    return header.strip()
