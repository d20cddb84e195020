"""gRPC entrypoint of the inventory admin API."""

from __future__ import annotations

from shop.catalog.v1 import inventory_pb2 as pb
from shop.catalog.v1 import inventory_pb2_grpc

from services.catalog.inventory.stock import Inventory
from services.common import cursor
from services.common.messages import to_timestamp


class InventoryAdminServicer(inventory_pb2_grpc.InventoryAdminServicer):
    def __init__(self, inventory: Inventory) -> None:
        self._inventory = inventory

    async def AdjustInventory(self, request, context):
        level = await self._inventory.adjust(
            request.variant_id, request.delta, request.expected_version
        )
        return pb.InventoryLevel(
            variant_id=str(level.variant_id),
            sku=level.sku or "",
            quantity=level.quantity,
            version=level.version,
        )

    async def SyncInventory(self, request, context):
        outcomes, unknown = await self._inventory.sync(
            [(line.sku.strip(), line.quantity) for line in request.lines]
        )
        return pb.SyncInventoryResponse(
            results=[
                pb.SyncResult(
                    sku=o.sku,
                    variant_id=str(o.variant_id),
                    previous_quantity=o.previous_quantity,
                    quantity=o.quantity,
                    version=o.version,
                    changed=o.changed,
                )
                for o in outcomes
            ],
            unknown_skus=unknown,
        )

    async def ListInventoryAlerts(self, request, context):
        alerts, token = await self._inventory.alerts(
            cursor.page_size(request.page_size), request.page_token
        )
        return pb.ListInventoryAlertsResponse(
            next_page_token=token,
            alerts=[
                pb.InventoryAlert(
                    variant_id=str(a.variant_id),
                    sku=a.sku or "",
                    quantity=a.quantity,
                    threshold=a.threshold,
                    created_at=to_timestamp(a.created_at),
                )
                for a in alerts
            ],
        )
