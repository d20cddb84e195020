"""gRPC entrypoints of the public storefront: request validation and translation only."""

from __future__ import annotations

from shop.catalog.v1 import catalog_pb2 as pb
from shop.catalog.v1 import catalog_pb2_grpc

from services.catalog.products.messages import storefront_product
from services.catalog.products.repository import CatalogRepository
from services.catalog.storefront import search_terms
from services.catalog.storefront.queries import ListCriteria, Page, StorefrontQueries
from services.common.errors import InvalidArgument, Validator

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 250

_SORTS = {
    pb.PRODUCT_SORT_UNSPECIFIED: "newest",
    pb.PRODUCT_SORT_NEWEST: "newest",
    pb.PRODUCT_SORT_PRICE_ASC: "price_asc",
    pb.PRODUCT_SORT_PRICE_DESC: "price_desc",
    pb.PRODUCT_SORT_TITLE: "title",
}


def page_size(requested: int) -> int:
    if requested < 0:
        raise InvalidArgument.field("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
    # Larger requests are clamped rather than refused: a storefront asking for "all" works.
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def list_criteria(request: pb.ListProductsRequest) -> ListCriteria:
    v = Validator()
    sort = _SORTS.get(request.sort)
    v.check(sort is not None, "sort", "must be NEWEST, PRICE_ASC, PRICE_DESC or TITLE")
    lo = request.min_price if request.HasField("min_price") else None
    hi = request.max_price if request.HasField("max_price") else None
    v.check(lo is None or lo >= 0, "min_price", "must be >= 0 (minor units)")
    v.check(hi is None or hi >= 0, "max_price", "must be >= 0 (minor units)")
    if lo is not None and hi is not None and lo > hi:
        v.fail("min_price", "must be <= max_price")
    v.raise_if_any()
    return ListCriteria(sort or "newest", lo, hi, request.available_only)


class StorefrontServicer(catalog_pb2_grpc.StorefrontServicer):
    def __init__(self, catalog: CatalogRepository, queries: StorefrontQueries) -> None:
        self._catalog = catalog
        self._queries = queries

    async def GetProductByHandle(self, request, context):
        if not request.handle:
            raise InvalidArgument.field("handle", "is required")
        return storefront_product(await self._catalog.active_product_by_handle(request.handle))

    async def ListProducts(self, request, context):
        size = page_size(request.page_size)
        page = await self._queries.list_products(list_criteria(request), size, request.page_token)
        return pb.ListProductsResponse(
            products=_products(page), next_page_token=page.next_page_token
        )

    async def SearchProducts(self, request, context):
        size = page_size(request.page_size)
        terms = search_terms.parse(request.query)
        page = await self._queries.search_products(terms, size, request.page_token)
        return pb.SearchProductsResponse(
            products=_products(page),
            next_page_token=page.next_page_token,
            approximate=page.approximate,
        )


def _products(page: Page) -> list[pb.StorefrontProduct]:
    return [storefront_product(p) for p in page.products]
