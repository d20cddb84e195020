"""gRPC entrypoints of the Store service: requests in, domain calls, messages out."""

from __future__ import annotations

from google.api import httpbody_pb2
from google.protobuf import empty_pb2, json_format
from shop.store.v1 import store_pb2, store_pb2_grpc

from services.common import cursor
from services.common.errors import NotFound, Unauthenticated
from services.common.interceptors import metadata_values
from services.common.messages import to_timestamp
from services.common.tenancy import STORE_ID_HEADER, require_store_id
from services.store.apidocs.reference import ApiReference, Resource
from services.store.domains.custom_domains import CustomDomains
from services.store.edge.authz import bearer_token
from services.store.lifecycle.ownership import Ownership
from services.store.stores.messages import (
    domain_message,
    platform_host,
    public_shop_message,
    store_message,
    token_message,
)
from services.store.stores.repository import StoreRepository
from services.store.stores.rules import validate_new_store
from services.store.stores.settings_rules import validate_settings_change
from services.store.tokens.repository import TokenRepository
from services.store.tokens.resolver import TokenResolver
from services.store.tokens.rules import FIRST_TOKEN_SCOPES, validate_new_token


def _http_body(resource: Resource) -> httpbody_pb2.HttpBody:
    return httpbody_pb2.HttpBody(content_type=resource.content_type, data=resource.data)


class PlatformServicer(store_pb2_grpc.PlatformServicer):
    def __init__(
        self, stores: StoreRepository, platform_domain: str, reference: ApiReference
    ) -> None:
        self._stores = stores
        self._domain = platform_domain
        self._reference = reference

    async def CreateStore(self, request, context):
        new = validate_new_store(
            request.name, request.subdomain, request.owner_email, request.currency
        )
        store, token = await self._stores.create(new, FIRST_TOKEN_SCOPES)
        return store_pb2.CreateStoreResponse(
            store=store_message(store, self._domain),
            admin_token=store_pb2.AccessToken(
                id=token.id, token=token.token, scopes=list(token.scopes), name="owner"
            ),
        )

    def _on_platform_host(self, context) -> None:
        # Store hosts (a merchant's own domain among them) carry the trusted store id that only
        # their virtual host adds; the reference belongs to the platform host alone.
        if metadata_values(context, STORE_ID_HEADER):
            raise NotFound(f"the API reference is at api.{self._domain}/docs")

    async def GetOpenApiDocument(self, request, context):
        self._on_platform_host(context)
        return _http_body(self._reference.document(request.document))

    async def GetDocsPage(self, request, context):
        self._on_platform_host(context)
        return _http_body(self._reference.page())

    async def GetDocsAsset(self, request, context):
        self._on_platform_host(context)
        return _http_body(self._reference.asset(request.asset))


class ShopServicer(store_pb2_grpc.ShopServicer):
    """What any storefront may show about its store, without a token."""

    def __init__(self, stores: StoreRepository, platform_domain: str) -> None:
        self._stores = stores
        self._platform = platform_domain

    async def GetShop(self, request, context):
        return public_shop_message(await self._stores.get_current(), self._platform)


class StoreAdminServicer(store_pb2_grpc.StoreAdminServicer):
    def __init__(
        self,
        stores: StoreRepository,
        domains: CustomDomains,
        tokens: TokenRepository,
        resolver: TokenResolver,
        platform_domain: str,
        ownership: Ownership,
    ) -> None:
        self._stores = stores
        self._domains = domains
        self._tokens = tokens
        self._resolver = resolver
        self._platform = platform_domain
        self._ownership = ownership

    async def GetStore(self, request, context):
        return store_message(await self._stores.get_current(), self._platform)

    async def UpdateStoreSettings(self, request, context):
        change = validate_settings_change(
            name=request.name if request.HasField("name") else None,
            theme_id=request.theme_id if request.HasField("theme_id") else None,
            low_stock_threshold=(
                request.low_stock_threshold if request.HasField("low_stock_threshold") else None
            ),
            settings=(
                json_format.MessageToDict(request.settings)
                if request.HasField("settings")
                else None
            ),
        )
        return store_message(await self._stores.update_settings(change), self._platform)

    def _domain(self, domain):
        return domain_message(domain, self._domains.record_name(domain.domain))

    async def RegisterDomain(self, request, context):
        return self._domain(await self._domains.register(request.domain))

    async def VerifyDomain(self, request, context):
        return self._domain(await self._domains.verify(request.domain))

    async def ListDomains(self, request, context):
        domains, token = await self._domains.list(
            cursor.page_size(request.page_size), request.page_token
        )
        return store_pb2.ListDomainsResponse(
            domains=[self._domain(d) for d in domains], next_page_token=token
        )

    async def RemoveDomain(self, request, context):
        await self._domains.remove(request.domain)
        return empty_pb2.Empty()

    async def SetPrimaryDomain(self, request, context):
        store = await self._stores.get_current()
        await self._domains.set_primary(request.domain, platform_host(store, self._platform))
        return store_message(await self._stores.get_current(), self._platform)

    async def _caller_scopes(self, context) -> frozenset[str]:
        """Scopes of the token this call came with (ext_authz has already accepted it for this
        store; the grant is cached, so this costs a Redis read)."""
        metadata = dict(context.invocation_metadata() or ())
        token = bearer_token(metadata.get("authorization", ""))
        grant = await self._resolver.resolve(token) if token else None
        if grant is None or grant.store_id != require_store_id():
            raise Unauthenticated("access token is invalid or revoked")
        return grant.scopes

    async def CreateAccessToken(self, request, context):
        new = validate_new_token(request.name, request.scopes, await self._caller_scopes(context))
        issued, info = await self._tokens.create(new)
        return token_message(info, issued.token)

    async def ListAccessTokens(self, request, context):
        tokens, page_token = await self._tokens.list(
            cursor.page_size(request.page_size), request.page_token
        )
        return store_pb2.ListAccessTokensResponse(
            access_tokens=[token_message(t) for t in tokens], next_page_token=page_token
        )

    async def RevokeAccessToken(self, request, context):
        info, token_hash = await self._tokens.revoke(request.id)
        await self._resolver.forget(token_hash)
        return token_message(info)

    async def ChangeOwnerEmail(self, request, context):
        pending = await self._ownership.request_owner_email(require_store_id(), request.new_email)
        return store_pb2.OwnerEmailChange(
            pending_email=pending.email, expires_at=to_timestamp(pending.expires_at)
        )

    async def ConfirmOwnerEmail(self, request, context):
        await self._ownership.confirm_owner_email(require_store_id(), request.code)
        return store_message(await self._stores.get_current(), self._platform)

    async def ChangeCurrency(self, request, context):
        await self._ownership.change_currency(require_store_id(), request.currency)
        return store_message(await self._stores.get_current(), self._platform)

    async def RequestStoreClosure(self, request, context):
        offer = await self._ownership.offer_closure(require_store_id())
        return store_pb2.StoreClosure(
            confirmation_token=offer.token,
            expires_at=to_timestamp(offer.expires_at),
            erase_after=to_timestamp(offer.erase_after),
        )

    async def CloseStore(self, request, context):
        await self._ownership.close(
            require_store_id(), request.confirmation_token, request.subdomain
        )
        return store_message(await self._stores.get_current(), self._platform)
