"""Webhook topics merchants subscribe to, and which event types feed each."""

from __future__ import annotations

EVENT_TOPICS = {
    "order.created": "orders/create",
    "order.paid": "orders/paid",
    "order.cancelled": "orders/cancelled",
    "order.refunded": "orders/refunded",
    "inventory.low": "inventory/low",
    "inventory.adjusted": "inventory/update",
    "inventory.synced": "inventory/update",
    "inventory.reserved": "inventory/update",
    "inventory.restocked": "inventory/update",
}
TOPICS = frozenset(EVENT_TOPICS.values())


def topic_for(event_type: str) -> str | None:
    return EVENT_TOPICS.get(event_type)
