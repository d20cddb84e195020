"""Disputes (chargebacks and inquiries) of an order's payment, as plain Python: how a dispute's
status may move and which changes are worth an event. Stripe's statuses: an inquiry is
warning_needs_response → warning_under_review → warning_closed; a chargeback is needs_response
→ under_review → won or lost; prevented ends one before it starts."""

from __future__ import annotations

OPEN = frozenset(
    {"warning_needs_response", "warning_under_review", "needs_response", "under_review"}
)
CLOSED = frozenset({"warning_closed", "won", "lost", "prevented"})
STATUSES = OPEN | CLOSED
_RANK = {
    "warning_needs_response": 0,
    "needs_response": 0,
    "warning_under_review": 1,
    "under_review": 1,
}


def advance(recorded: str | None, seen: str) -> str:
    """Never backwards, never out of a closed state (a stale read racing a newer one). A
    status this code does not know (a newer API version) leaves the recorded one, or counts
    as needing a response."""
    if seen not in STATUSES:
        return recorded or "needs_response"
    if recorded is None:
        return seen
    if recorded in CLOSED:
        return recorded
    if seen in CLOSED:
        return seen
    return seen if _RANK[seen] >= _RANK.get(recorded, 0) else recorded


def events(recorded: str | None, status: str) -> list[str]:
    """`disputed` when the order first learns of the dispute, `dispute_closed` when it closes
    (both at once when the first news is the close)."""
    found = []
    if recorded is None:
        found.append("disputed")
    if status in CLOSED and (recorded is None or recorded not in CLOSED):
        found.append("dispute_closed")
    return found
