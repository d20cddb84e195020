"""Redis keys that belong to one store, named in one place: the service that writes them and
the erase job that deletes a closed store's keys (services.store.lifecycle.erase) cannot
disagree. A new store-owned key shape goes here, with its pattern."""

from __future__ import annotations


def cart_key(store_id: int, cart_id: str) -> str:
    return f"cart:{store_id}:{cart_id}"


def store_key_patterns(store_id: int) -> tuple[str, ...]:
    """SCAN patterns matching every Redis key of the store. (The authorizer's token cache is
    keyed by token hash, not store: the erase job deletes those entries by the hashes of the
    tokens it erases.)"""
    return (cart_key(store_id, "*"),)
