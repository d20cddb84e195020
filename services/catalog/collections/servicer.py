"""gRPC entrypoint of the collections admin API: thin translations to the use cases."""

from __future__ import annotations

from shop.catalog.v1 import collections_pb2 as cpb
from shop.catalog.v1 import collections_pb2_grpc

from services.catalog.collections.admin import CollectionsAdmin
from services.catalog.collections.messages import (
    collection_draft,
    collection_message,
    collection_patch,
)
from services.catalog.products.messages import admin_product
from services.common import cursor


class CollectionsAdminServicer(collections_pb2_grpc.CollectionsAdminServicer):
    def __init__(self, collections: CollectionsAdmin) -> None:
        self._collections = collections

    async def CreateCollection(self, request, context):
        return collection_message(
            await self._collections.create(collection_draft(request.collection))
        )

    async def GetCollection(self, request, context):
        return collection_message(await self._collections.get(request.id))

    async def ListCollections(self, request, context):
        rows, token = await self._collections.list(
            cursor.page_size(request.page_size), request.page_token
        )
        return cpb.AdminListCollectionsResponse(
            collections=[collection_message(c) for c in rows], next_page_token=token
        )

    async def UpdateCollection(self, request, context):
        return collection_message(
            await self._collections.update(request.id, collection_patch(request))
        )

    async def DeleteCollection(self, request, context):
        await self._collections.delete(request.id)
        return cpb.DeleteCollectionResponse()

    async def ListCollectionProducts(self, request, context):
        products, token = await self._collections.members(
            request.id, cursor.page_size(request.page_size), request.page_token
        )
        return cpb.ListCollectionProductsResponse(
            products=[admin_product(p) for p in products], next_page_token=token
        )
