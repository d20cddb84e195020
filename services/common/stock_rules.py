"""Whether a variant can be sold: one rule for the catalog's "available" flag, the cart's line
availability and the checkout's reservation. Plain Python: no gRPC, SQL or Redis here."""

from __future__ import annotations


def in_stock(policy: str, on_hand: int, quantity: int = 1) -> bool:
    """`quantity` units are there to sell (policy 'continue' sells below zero)."""
    return policy == "continue" or on_hand >= quantity


def cannot_sell(status: str | None, policy: str, on_hand: int, quantity: int) -> str | None:
    """Why `quantity` units cannot be sold now, or None when they can. A status of None means
    the variant no longer exists."""
    if status != "active":
        return "no longer for sale"
    if not in_stock(policy, on_hand, quantity):
        return f"only {max(on_hand, 0)} left, {quantity} requested"
    return None
