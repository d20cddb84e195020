"""gRPC entrypoints of the Catalog service: thin translations to repository calls."""

from __future__ import annotations

from shop.catalog.v1 import catalog_pb2 as pb
from shop.catalog.v1 import catalog_pb2_grpc

from services.catalog.products.listing import ProductListing
from services.catalog.products.messages import (
    admin_product,
    admin_query,
    admin_variant,
    product_draft,
    product_patch,
    variant_draft,
    variant_patch,
)
from services.catalog.products.repository import CatalogRepository
from services.catalog.products.writes import ProductWrites
from services.common import cursor


class CatalogAdminServicer(catalog_pb2_grpc.CatalogAdminServicer):
    def __init__(
        self, catalog: CatalogRepository, writes: ProductWrites, listing: ProductListing
    ) -> None:
        self._catalog = catalog
        self._writes = writes
        self._listing = listing

    async def CreateProduct(self, request, context):
        return admin_product(await self._catalog.create_product(product_draft(request)))

    async def GetProduct(self, request, context):
        return admin_product(await self._catalog.get_product(request.id))

    async def ListProducts(self, request, context):
        size = cursor.page_size(request.page_size)
        products, token = await self._listing.list(admin_query(request), size, request.page_token)
        return pb.AdminListProductsResponse(
            products=[admin_product(p) for p in products], next_page_token=token
        )

    async def GetVariantBySku(self, request, context):
        product, variant = await self._listing.variant_by_sku(request.sku)
        return admin_variant(variant, str(product.id))

    async def UpdateProduct(self, request, context):
        return admin_product(await self._writes.update_product(request.id, product_patch(request)))

    async def ArchiveProduct(self, request, context):
        return admin_product(await self._writes.set_status(request.id, "archived", only_from=None))

    async def UnarchiveProduct(self, request, context):
        return admin_product(
            await self._writes.set_status(request.id, "draft", only_from="archived")
        )

    async def DeleteProduct(self, request, context):
        await self._writes.delete_product(request.id)
        return pb.DeleteProductResponse()

    async def CreateVariant(self, request, context):
        product, variant_id = await self._writes.create_variant(
            request.product_id, variant_draft(request.variant)
        )
        return _variant_of(product, variant_id)

    async def UpdateVariant(self, request, context):
        product, variant_id = await self._writes.update_variant(request.id, variant_patch(request))
        return _variant_of(product, variant_id)

    async def DeleteVariant(self, request, context):
        await self._writes.delete_variant(request.id)
        return pb.DeleteVariantResponse()


def _variant_of(product, variant_id: str) -> pb.Variant:
    return next(
        admin_variant(v, str(product.id)) for v in product.variants if str(v.id) == variant_id
    )
