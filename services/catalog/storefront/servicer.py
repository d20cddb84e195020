"""gRPC entrypoints of the public storefront: request validation and translation only."""

from __future__ import annotations

from shop.catalog.v1 import catalog_pb2 as pb
from shop.catalog.v1 import catalog_pb2_grpc

from services.catalog.collections.messages import storefront_collection
from services.catalog.collections.storefront import StorefrontCollections
from services.catalog.products.messages import storefront_product
from services.catalog.products.repository import CatalogRepository
from services.catalog.storefront import search_terms
from services.catalog.storefront.listing import ListCriteria
from services.catalog.storefront.queries import Page, StorefrontQueries
from services.common import cursor
from services.common.errors import InvalidArgument, Validator

# Every storefront list: 0 means 50, larger values are clamped to 250.
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 250

_SORTS = {
    pb.PRODUCT_SORT_UNSPECIFIED: "",
    pb.PRODUCT_SORT_NEWEST: "newest",
    pb.PRODUCT_SORT_PRICE_ASC: "price_asc",
    pb.PRODUCT_SORT_PRICE_DESC: "price_desc",
    pb.PRODUCT_SORT_TITLE: "title",
    pb.PRODUCT_SORT_MANUAL: "manual",
}


def page_size(requested: int) -> int:
    return cursor.page_size(requested, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def list_criteria(request, *, collection: bool = False) -> ListCriteria:
    """The sort ("" when none was asked for) and filters of a ListProducts or
    GetCollectionByHandle request."""
    v = Validator()
    sort = _SORTS.get(request.sort)
    if collection:
        v.check(sort is not None, "sort", "must be MANUAL, NEWEST, PRICE_ASC, PRICE_DESC or TITLE")
    else:
        v.check(
            sort is not None and sort != "manual",
            "sort",
            "must be NEWEST, PRICE_ASC, PRICE_DESC or TITLE (MANUAL: collections only)",
        )
    lo = request.min_price if request.HasField("min_price") else None
    hi = request.max_price if request.HasField("max_price") else None
    v.check(lo is None or lo >= 0, "min_price", "must be >= 0 (minor units)")
    v.check(hi is None or hi >= 0, "max_price", "must be >= 0 (minor units)")
    if lo is not None and hi is not None and lo > hi:
        v.fail("min_price", "must be <= max_price")
    v.raise_if_any()
    return ListCriteria(sort or ("" if collection else "newest"), lo, hi, request.available_only)


class StorefrontServicer(catalog_pb2_grpc.StorefrontServicer):
    def __init__(
        self,
        catalog: CatalogRepository,
        queries: StorefrontQueries,
        collections: StorefrontCollections,
        *,
        cache_seconds: int = 1,
    ) -> None:
        self._catalog = catalog
        # What the edge cache (envoy/bootstrap.yaml, edge_cache) may keep a read for: a
        # merchant's change is served within about this long (envoy/README.md). Sent only with
        # a successful answer: errors (a 404 for a handle not yet created) are never cached.
        self._cache_control = (
            (("cache-control", f"public, max-age={cache_seconds}"),) if cache_seconds else ()
        )
        self._queries = queries
        self._collections = collections

    async def _cacheable(self, context) -> None:
        """Marks this successful answer cacheable at the edge (a response header over REST)."""
        if self._cache_control:
            await context.send_initial_metadata(self._cache_control)

    async def GetProductByHandle(self, request, context):
        if not request.handle:
            raise InvalidArgument.field("handle", "is required")
        product = await self._catalog.active_product_by_handle(request.handle)
        await self._cacheable(context)
        return storefront_product(product)

    async def ListProducts(self, request, context):
        size = page_size(request.page_size)
        page = await self._queries.list_products(list_criteria(request), size, request.page_token)
        await self._cacheable(context)
        return pb.ListProductsResponse(
            products=_products(page), next_page_token=page.next_page_token
        )

    async def SearchProducts(self, request, context):
        size = page_size(request.page_size)
        terms = search_terms.parse(request.query)
        page = await self._queries.search_products(terms, size, request.page_token)
        await self._cacheable(context)
        return pb.SearchProductsResponse(
            products=_products(page),
            next_page_token=page.next_page_token,
            approximate=page.approximate,
        )

    async def ListCollections(self, request, context):
        rows, token = await self._collections.list(page_size(request.page_size), request.page_token)
        await self._cacheable(context)
        return pb.ListCollectionsResponse(
            collections=[storefront_collection(c) for c in rows], next_page_token=token
        )

    async def GetCollectionByHandle(self, request, context):
        if not request.handle:
            raise InvalidArgument.field("handle", "is required")
        size = page_size(request.page_size)
        criteria = list_criteria(request, collection=True)
        found = await self._collections.page(request.handle, criteria, size, request.page_token)
        await self._cacheable(context)
        return pb.CollectionPage(
            collection=storefront_collection(found.collection),
            products=_products(found.page),
            next_page_token=found.page.next_page_token,
        )


def _products(page: Page) -> list[pb.StorefrontProduct]:
    return [storefront_product(p) for p in page.products]
