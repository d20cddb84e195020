"""gRPC entrypoints of the Store service: requests in, domain calls, messages out."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp
from shop.store.v1 import store_pb2, store_pb2_grpc

from services.store.domain import FIRST_TOKEN_SCOPES, Store, validate_new_store
from services.store.repository import StoreRepository


def _store_message(store: Store, platform_domain: str) -> store_pb2.Store:
    created = Timestamp()
    created.FromDatetime(store.created_at)
    return store_pb2.Store(
        id=str(store.id),
        name=store.name,
        subdomain=store.subdomain,
        primary_domain=f"{store.subdomain}.{platform_domain}",
        owner_email=store.owner_email,
        currency=store.currency,
        created_at=created,
    )


class PlatformServicer(store_pb2_grpc.PlatformServicer):
    def __init__(self, stores: StoreRepository, platform_domain: str) -> None:
        self._stores = stores
        self._domain = platform_domain

    async def CreateStore(self, request, context):
        new = validate_new_store(
            request.name, request.subdomain, request.owner_email, request.currency
        )
        store, token = await self._stores.create(new, FIRST_TOKEN_SCOPES)
        return store_pb2.CreateStoreResponse(
            store=_store_message(store, self._domain),
            admin_token=store_pb2.AccessToken(
                id=token.id, token=token.token, scopes=list(token.scopes)
            ),
        )


class StoreAdminServicer(store_pb2_grpc.StoreAdminServicer):
    def __init__(self, stores: StoreRepository, platform_domain: str) -> None:
        self._stores = stores
        self._domain = platform_domain

    async def GetStore(self, request, context):
        return _store_message(await self._stores.get_current(), self._domain)
