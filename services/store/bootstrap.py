"""Wires the Store service: pools, Redis, repositories, servicers, the xDS control plane."""

from __future__ import annotations

import redis.asyncio as redis
from envoy.service.auth.v3 import external_auth_pb2_grpc
from envoy.service.discovery.v3 import ads_pb2_grpc
from shop.store.v1 import store_pb2_grpc, webhooks_pb2_grpc

from services.common.config import Config
from services.common.db import create_pool
from services.common.server import App
from services.common.ssrf import SsrfPolicy
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
from services.store.stores.servicer import PlatformServicer, StoreAdminServicer
from services.store.tokens.repository import TokenRepository
from services.store.tokens.resolver import TokenResolver
from services.store.webhooks.repository import WebhookRepository
from services.store.webhooks.servicer import WebhookAdminServicer

ENVOY_FACING = (
    "envoy.service.auth.v3.Authorization",
    "envoy.service.discovery.v3.AggregatedDiscoveryService",
)


def build(config: Config) -> App:
    state: dict = {}
    snapshot = RouteSnapshot()
    domains_config = DomainSettings.from_env(config.platform_domain)

    async def startup() -> None:
        state["pool"] = await create_pool(config.database_url, config.db_pool_size)
        state["control_pool"] = await create_pool(config.control_database_url, 4)
        state["redis"] = redis.from_url(config.redis_url)
        state["routes"] = RouteSync(
            config.control_database_url,
            state["control_pool"],
            RouteTable(config.platform_domain),
            snapshot,
            config.platform_domain,
        )
        await state["routes"].start()
        state["domains"] = DomainRepository(state["pool"], state["control_pool"])
        state["dns"] = TxtLookup(domains_config.nameserver, domains_config.dns_timeout)
        state["rechecker"] = DomainRechecker(
            state["domains"],
            state["dns"],
            domains_config.brand,
            interval=domains_config.recheck_interval,
            grace=domains_config.recheck_grace,
        )
        await state["rechecker"].start()

    async def shutdown() -> None:
        await state["rechecker"].stop()
        await state["routes"].stop()
        await state["redis"].aclose()
        await state["control_pool"].close()
        await state["pool"].close()

    def register(server) -> list[str]:
        stores = StoreRepository(state["pool"])
        store_pb2_grpc.add_PlatformServicer_to_server(
            PlatformServicer(stores, config.platform_domain), server
        )
        resolver = TokenResolver(state["control_pool"], state["redis"])
        custom_domains = CustomDomains(
            state["domains"], state["dns"], domains_config.brand, config.platform_domain
        )
        store_pb2_grpc.add_StoreAdminServicer_to_server(
            StoreAdminServicer(
                stores,
                custom_domains,
                TokenRepository(state["pool"]),
                resolver,
                config.platform_domain,
            ),
            server,
        )
        external_auth_pb2_grpc.add_AuthorizationServicer_to_server(
            AuthorizationServicer(
                resolver,
                admin_method_scopes(),
                JsonBodyGuard(),
            ),
            server,
        )
        webhooks_pb2_grpc.add_WebhookAdminServicer_to_server(
            WebhookAdminServicer(WebhookRepository(state["pool"], SsrfPolicy.from_env())), server
        )
        ads_pb2_grpc.add_AggregatedDiscoveryServiceServicer_to_server(
            AggregatedDiscoveryServicer(snapshot), server
        )
        return [
            "shop.store.v1.Platform",
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
        on_shutdown=[shutdown],
    )
