"""Inventory change events, shared by the catalog's admin paths and the checkout's reservations:
inventory.{action}.{store_id} for every change, and inventory.low.{store_id} when the quantity
falls to the store's low-stock threshold from above it (once per crossing)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.common import outbox


@dataclass(frozen=True)
class Level:
    variant_id: uuid.UUID
    sku: str | None
    product_id: uuid.UUID
    quantity: int
    version: int
    policy: str


def crossed_low(previous: int, quantity: int, threshold: int) -> bool:
    return previous > threshold >= quantity


def change_events(
    store_id: int, action: str, before: Level, after: Level, threshold: int
) -> list[outbox.Event]:
    """The events of one stock change; keys are derived from the variant's new version, so
    the same change can never be recorded twice."""
    data = {
        "variant_id": str(after.variant_id),
        "product_id": str(after.product_id),
        "sku": after.sku,
        "previous_quantity": before.quantity,
        "quantity": after.quantity,
        "delta": after.quantity - before.quantity,
        "version": after.version,
    }
    key = f"inventory:{after.variant_id}:{after.version}"
    events = [outbox.inventory_event(action, store_id, data, key)]
    if crossed_low(before.quantity, after.quantity, threshold):
        events.append(
            outbox.inventory_event(
                "low",
                store_id,
                {**data, "threshold": threshold},
                f"inventory-low:{after.variant_id}:{after.version}",
            )
        )
    return events
