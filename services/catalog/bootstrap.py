"""Wires the Catalog service."""

from __future__ import annotations

from shop.catalog.v1 import catalog_pb2_grpc, inventory_pb2_grpc

from services.catalog.inventory.servicer import InventoryAdminServicer
from services.catalog.inventory.stock import Inventory
from services.catalog.products.repository import CatalogRepository
from services.catalog.products.servicer import CatalogAdminServicer
from services.catalog.products.writes import ProductWrites
from services.catalog.storefront.queries import StorefrontQueries
from services.catalog.storefront.servicer import StorefrontServicer
from services.common.config import Config
from services.common.db import create_pool
from services.common.server import App


def build(config: Config) -> App:
    state: dict = {}

    async def startup() -> None:
        state["pool"] = await create_pool(config.database_url, config.db_pool_size)

    async def shutdown() -> None:
        await state["pool"].close()

    def register(server) -> list[str]:
        catalog = CatalogRepository(state["pool"])
        catalog_pb2_grpc.add_CatalogAdminServicer_to_server(
            CatalogAdminServicer(catalog, ProductWrites(state["pool"])), server
        )
        inventory_pb2_grpc.add_InventoryAdminServicer_to_server(
            InventoryAdminServicer(Inventory(state["pool"])), server
        )
        catalog_pb2_grpc.add_StorefrontServicer_to_server(
            StorefrontServicer(catalog, StorefrontQueries(state["pool"])), server
        )
        return [
            "shop.catalog.v1.CatalogAdmin",
            "shop.catalog.v1.InventoryAdmin",
            "shop.catalog.v1.Storefront",
        ]

    return App(config=config, register=register, on_startup=[startup], on_shutdown=[shutdown])
