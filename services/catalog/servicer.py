"""gRPC entrypoints of the Catalog service: thin translations to repository calls."""

from __future__ import annotations

from shop.catalog.v1 import catalog_pb2 as pb
from shop.catalog.v1 import catalog_pb2_grpc

from services.catalog.messages import admin_product, product_draft, storefront_product
from services.catalog.repository import CatalogRepository
from services.common.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 250


class CatalogAdminServicer(catalog_pb2_grpc.CatalogAdminServicer):
    def __init__(self, catalog: CatalogRepository) -> None:
        self._catalog = catalog

    async def CreateProduct(self, request, context):
        return admin_product(await self._catalog.create_product(product_draft(request)))

    async def GetProduct(self, request, context):
        return admin_product(await self._catalog.get_product(request.id))


class StorefrontServicer(catalog_pb2_grpc.StorefrontServicer):
    def __init__(self, catalog: CatalogRepository) -> None:
        self._catalog = catalog

    async def GetProductByHandle(self, request, context):
        if not request.handle:
            raise InvalidArgument.field("handle", "is required")
        return storefront_product(await self._catalog.active_product_by_handle(request.handle))

    async def ListProducts(self, request, context):
        if request.page_size < 0:
            raise InvalidArgument.field("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
        # Larger requests are clamped rather than refused: a storefront asking for "all" works.
        size = min(request.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        products, next_token = await self._catalog.active_products_page(size, request.page_token)
        return pb.ListProductsResponse(
            products=[storefront_product(p) for p in products], next_page_token=next_token
        )
