"""Webhook signatures: HMAC-SHA256 over `<timestamp>.<raw body>`, base64-encoded, sent as
`X-Shop-Signature: v1=<signature>` — one `v1=` value per secret that signs, comma-separated, as
Stripe does: after a secret rotation, during its overlap window, the new secret's signature and
the old one's both ride along, so a receiver holding either secret verifies.

Receivers recompute it with their secret, compare in constant time against every `v1` value,
and refuse timestamps older than the tolerance so a captured request cannot be replayed later."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterable

TOLERANCE_SECONDS = 300
SCHEME = "v1"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def signature_header(secrets: Iterable[str], timestamp: int, body: bytes) -> str:
    """`v1=<sig>,v1=<sig>`: the current secret first, then a rotated-out one still in overlap."""
    return ",".join(f"{SCHEME}={sign(secret, timestamp, body)}" for secret in secrets)


def signatures(header: str) -> list[str]:
    """The `v1` values of a signature header (base64 may end in '=': split at the first)."""
    found = []
    for part in header.split(","):
        scheme, sep, value = part.strip().partition("=")
        if sep and scheme == SCHEME and value:
            found.append(value)
    return found


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    header: str,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """True when one of the header's `v1` signatures is `secret`'s and the timestamp is fresh."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance:
        return False
    expected = sign(secret, ts, body)
    # Compare with every value (no early exit on a match position).
    matches = [hmac.compare_digest(expected, value) for value in signatures(header)]
    return any(matches)
