"""Wires the Store service: pools, Redis, repositories, servicers, the xDS control plane.

Pools, Redis and the DNS lookup can be passed in (tests); what is not passed is created from
the configuration and closed at shutdown."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import grpc
import redis.asyncio as redis
from envoy.service.auth.v3 import external_auth_pb2_grpc
from envoy.service.discovery.v3 import ads_pb2_grpc
from shop.store.v1 import store_pb2_grpc, webhooks_pb2_grpc

from services.common.config import Config
from services.common.server import App
from services.common.ssrf import SsrfPolicy
from services.common.wiring import Owned, Slot
from services.store.config import DomainSettings
from services.store.domains.custom_domains import CustomDomains
from services.store.domains.dns import TxtLookup
from services.store.domains.recheck import DomainRechecker
from services.store.domains.repository import DomainRepository
from services.store.edge.api import TRANSCODED_SERVICES
from services.store.edge.authz import AuthorizationServicer
from services.store.edge.json_guard import JsonBodyGuard
from services.store.edge.route_sync import RouteSync
from services.store.edge.routes import RouteTable
from services.store.edge.scopes import admin_method_scopes
from services.store.edge.xds import AggregatedDiscoveryServicer, RouteSnapshot
from services.store.stores.repository import StoreRepository
from services.store.stores.servicer import PlatformServicer, ShopServicer, StoreAdminServicer
from services.store.tokens.repository import TokenRepository
from services.store.tokens.resolver import TokenResolver
from services.store.webhooks.repository import WebhookRepository
from services.store.webhooks.servicer import WebhookAdminServicer


@dataclass(frozen=True)
class _Adapters:
    pool: asyncpg.Pool
    control: asyncpg.Pool
    redis: redis.Redis
    domains: DomainRepository
    dns: TxtLookup


ENVOY_FACING = (
    "envoy.service.auth.v3.Authorization",
    "envoy.service.discovery.v3.AggregatedDiscoveryService",
)


def build(
    config: Config,
    *,
    domain_settings: DomainSettings | None = None,
    pool: asyncpg.Pool | None = None,
    control_pool: asyncpg.Pool | None = None,
    redis_client: redis.Redis | None = None,
    dns: TxtLookup | None = None,
) -> App:
    settings = domain_settings or DomainSettings.from_env(config.platform_domain)
    snapshot = RouteSnapshot()
    owned = Owned()
    made: Slot[_Adapters] = Slot()

    async def startup() -> None:
        db = await owned.pool(pool, config.database_url, config.db_pool_size)
        control = await owned.pool(control_pool, config.control_database_url, 4)
        cache = owned.redis(redis_client, config.redis_url)
        routes = RouteSync(
            config.control_database_url,
            control,
            RouteTable(config.platform_domain),
            snapshot,
            config.platform_domain,
        )
        await routes.start()
        owned.add(routes.stop)
        domains = DomainRepository(db, control)
        lookup = dns or TxtLookup(settings.nameserver, settings.dns_timeout)
        rechecker = DomainRechecker(
            domains,
            lookup,
            settings.brand,
            interval=settings.recheck_interval,
            grace=settings.recheck_grace,
        )
        await rechecker.start()
        owned.add(rechecker.stop)
        made.set(_Adapters(db, control, cache, domains, lookup))

    def register(server: grpc.aio.Server) -> list[str]:
        adapters = made.get()
        db = adapters.pool
        stores = StoreRepository(db)
        store_pb2_grpc.add_PlatformServicer_to_server(
            PlatformServicer(stores, config.platform_domain), server
        )
        store_pb2_grpc.add_ShopServicer_to_server(
            ShopServicer(stores, config.platform_domain), server
        )
        resolver = TokenResolver(adapters.control, adapters.redis)
        custom_domains = CustomDomains(
            adapters.domains, adapters.dns, settings.brand, config.platform_domain
        )
        store_pb2_grpc.add_StoreAdminServicer_to_server(
            StoreAdminServicer(
                stores, custom_domains, TokenRepository(db), resolver, config.platform_domain
            ),
            server,
        )
        external_auth_pb2_grpc.add_AuthorizationServicer_to_server(
            AuthorizationServicer(resolver, admin_method_scopes(), JsonBodyGuard()), server
        )
        webhooks_pb2_grpc.add_WebhookAdminServicer_to_server(
            WebhookAdminServicer(WebhookRepository(db, SsrfPolicy.from_env())), server
        )
        ads_pb2_grpc.add_AggregatedDiscoveryServiceServicer_to_server(
            AggregatedDiscoveryServicer(snapshot), server
        )
        return [
            "shop.store.v1.Platform",
            "shop.store.v1.Shop",
            "shop.store.v1.StoreAdmin",
            "shop.store.v1.WebhookAdmin",
            *ENVOY_FACING,
        ]

    return App(
        config=config,
        register=register,
        tenant_exempt=("shop.store.v1.Platform", *ENVOY_FACING),
        # Reflection through Envoy lands here: describe the whole public API.
        reflected=TRANSCODED_SERVICES,
        on_startup=[startup],
        on_shutdown=[owned.close],
    )
