"""Webhook topics merchants subscribe to, and which event types feed each."""

from __future__ import annotations

EVENT_TOPICS = {
    "order.created": "orders/create",
    "order.paid": "orders/paid",
    "order.cancelled": "orders/cancelled",
    "order.refunded": "orders/refunded",
    "order.refund_failed": "orders/refund_failed",
    "order.disputed": "orders/disputed",
    "order.dispute_closed": "orders/dispute_closed",
    # Every unit not refunded has shipped.
    "order.fulfilled": "orders/fulfilled",
    "fulfillment.created": "fulfillments/create",
    # Tracking changed, or the fulfillment was cancelled (status "cancelled").
    "fulfillment.updated": "fulfillments/update",
    "payout.paid": "payouts/paid",
    "payout.failed": "payouts/failed",
    "customer.created": "customers/create",
    "customer.updated": "customers/update",
    # A privacy request erased the customer: receivers delete what they hold of them.
    "customer.redact": "customers/redact",
    "inventory.low": "inventory/low",
    "inventory.adjusted": "inventory/update",
    "inventory.synced": "inventory/update",
    "inventory.reserved": "inventory/update",
    "inventory.restocked": "inventory/update",
    # Sent once, when a closed store's grace period is over, just before its data is erased.
    "store.redact": "shop/redact",
}
TOPICS = frozenset(EVENT_TOPICS.values())


def topic_for(event_type: str) -> str | None:
    return EVENT_TOPICS.get(event_type)
