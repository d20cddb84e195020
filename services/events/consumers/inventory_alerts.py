"""Records low-stock alerts per store (readable through the catalog admin API)."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.events.consumers.base import Consumer


class InventoryAlertsConsumer(Consumer):
    name = "inventory_alerts"
    queue = "inventory.alerts"

    async def handle(self, conn: asyncpg.Connection, store_id: int, event: dict[str, Any]) -> None:
        data = event["data"]
        await conn.execute(
            """INSERT INTO inventory_alerts (store_id, event_key, variant_id, sku, quantity,
                                             threshold)
               VALUES ($1, $2, $3::uuid, $4, $5, $6)""",
            store_id,
            event["idempotencyKey"],
            data["variant_id"],
            data.get("sku"),
            int(data["quantity"]),
            int(data["threshold"]),
        )
