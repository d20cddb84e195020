"""Wires the Catalog service. The pool can be passed in (tests); otherwise it is created from
the configuration and closed at shutdown."""

from __future__ import annotations

import asyncpg
import grpc
from shop.catalog.v1 import catalog_pb2_grpc, collections_pb2_grpc, inventory_pb2_grpc

from services.catalog.collections.admin import CollectionsAdmin
from services.catalog.collections.servicer import CollectionsAdminServicer
from services.catalog.collections.storefront import StorefrontCollections
from services.catalog.config import CatalogSettings
from services.catalog.inventory.servicer import InventoryAdminServicer
from services.catalog.inventory.stock import Inventory
from services.catalog.products.listing import ProductListing
from services.catalog.products.repository import CatalogRepository
from services.catalog.products.servicer import CatalogAdminServicer
from services.catalog.products.writes import ProductWrites
from services.catalog.storefront.queries import StorefrontQueries
from services.catalog.storefront.servicer import StorefrontServicer
from services.common.config import Config
from services.common.server import App
from services.common.wiring import Owned, Slot


def build(
    config: Config,
    *,
    pool: asyncpg.Pool | None = None,
    settings: CatalogSettings | None = None,
) -> App:
    settings = settings or CatalogSettings.from_env()
    owned = Owned()
    made: Slot[asyncpg.Pool] = Slot()

    async def startup() -> None:
        made.set(await owned.pool(pool, config.database_url, config.db_pool_size))

    def register(server: grpc.aio.Server) -> list[str]:
        db = made.get()
        catalog = CatalogRepository(db)
        catalog_pb2_grpc.add_CatalogAdminServicer_to_server(
            CatalogAdminServicer(catalog, ProductWrites(db), ProductListing(db)), server
        )
        collections_pb2_grpc.add_CollectionsAdminServicer_to_server(
            CollectionsAdminServicer(CollectionsAdmin(db)), server
        )
        inventory_pb2_grpc.add_InventoryAdminServicer_to_server(
            InventoryAdminServicer(Inventory(db)), server
        )
        catalog_pb2_grpc.add_StorefrontServicer_to_server(
            StorefrontServicer(
                catalog,
                StorefrontQueries(db),
                StorefrontCollections(db),
                cache_seconds=settings.storefront_cache_seconds,
            ),
            server,
        )
        return [
            "shop.catalog.v1.CatalogAdmin",
            "shop.catalog.v1.CollectionsAdmin",
            "shop.catalog.v1.InventoryAdmin",
            "shop.catalog.v1.Storefront",
        ]

    return App(config=config, register=register, on_startup=[startup], on_shutdown=[owned.close])
