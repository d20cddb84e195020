"""Wires the Store service: pools, Redis, repositories, servicers, the xDS control plane, the
operator API and the erase job.

Pools, Redis and the DNS lookup can be passed in (tests); what is not passed is created from
the configuration and closed at shutdown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
import grpc
import httpx
import redis.asyncio as redis
from envoy.service.auth.v3 import external_auth_pb2_grpc
from envoy.service.discovery.v3 import ads_pb2_grpc
from shop.platform.v1 import operations_pb2_grpc
from shop.store.v1 import store_pb2_grpc, webhooks_pb2_grpc

from services.common.config import Config, env_int
from services.common.server import App
from services.common.ssrf import SsrfPolicy
from services.common.wiring import Owned, Slot
from services.store.apidocs.reference import ApiReference
from services.store.certificates.acme import AcmeIssuer, AcmeSettings, load_account_key
from services.store.certificates.issuers import Issuer, LocalCaIssuer
from services.store.certificates.provisioning import CertificateProvisioner
from services.store.certificates.repository import CertificateRepository
from services.store.certificates.sealing import KeySealer
from services.store.config import (
    CertificateSettings,
    DomainSettings,
    EdgeSettings,
    LifecycleSettings,
)
from services.store.domains.custom_domains import CustomDomains
from services.store.domains.dns import TxtLookup
from services.store.domains.recheck import DomainRechecker
from services.store.domains.repository import DomainRepository
from services.store.edge.api import TRANSCODED_SERVICES
from services.store.edge.authz import AuthorizationServicer, EdgeAccess
from services.store.edge.delta_xds import DeltaAggregatedServer
from services.store.edge.json_guard import JsonBodyGuard
from services.store.edge.route_reader import RouteReader
from services.store.edge.route_sync import ChangeFeed, RouteSync
from services.store.edge.routes import RouteTable, on_demand_route_configuration
from services.store.edge.scopes import (
    admin_method_scopes,
    admin_read_methods,
    operator_method_scopes,
)
from services.store.edge.vhds import RouteConfigProvider, VirtualHostProvider
from services.store.edge.xds import AggregatedDiscoveryServicer, RouteSnapshot
from services.store.lifecycle.erase import StoreEraser
from services.store.lifecycle.ownership import Ownership
from services.store.lifecycle.ownership_repository import OwnershipRepository
from services.store.lifecycle.repository import LifecycleRepository
from services.store.operators.audit import AuditLog
from services.store.operators.directory import StoreDirectory
from services.store.operators.operations import Operations
from services.store.operators.resolver import OperatorResolver
from services.store.operators.servicer import OperationsServicer
from services.store.stores.repository import StoreRepository
from services.store.stores.servicer import PlatformServicer, ShopServicer, StoreAdminServicer
from services.store.tokens.repository import TokenRepository
from services.store.tokens.resolver import TokenResolver
from services.store.webhooks.repository import WebhookRepository
from services.store.webhooks.rules import DEFAULT_OVERLAP_SECONDS
from services.store.webhooks.servicer import WebhookAdminServicer


@dataclass(frozen=True)
class _Adapters:
    pool: asyncpg.Pool
    control: asyncpg.Pool
    ops: asyncpg.Pool
    redis: redis.Redis
    domains: DomainRepository
    dns: TxtLookup
    # Wakes certificate issuance (a no-op when issuance is off).
    certificates_due: Callable[[], None]


ENVOY_FACING = (
    "envoy.service.auth.v3.Authorization",
    "envoy.service.discovery.v3.AggregatedDiscoveryService",
)
# Cross-store by nature: the caller is an operator, not a store.
OPERATOR_API = "shop.platform.v1.Operations"


def _nothing() -> None:
    """Issuance is off: verifying a domain wakes nobody."""


def _issuer(
    settings: CertificateSettings, certificates: CertificateRepository, owned: Owned
) -> Issuer:
    if settings.issuer == "acme":
        # A CA's answers take seconds; its validation is polled, not waited on.
        client = httpx.AsyncClient(timeout=30.0)
        owned.add(client.aclose)
        return AcmeIssuer(
            AcmeSettings(settings.acme_directory_url, settings.acme_contact_email),
            load_account_key(Path(settings.acme_account_key_file).read_bytes()),
            certificates,
            client,
        )
    return LocalCaIssuer.from_directory(Path(settings.local_ca_dir), days=settings.local_days)


def build(
    config: Config,
    *,
    domain_settings: DomainSettings | None = None,
    lifecycle_settings: LifecycleSettings | None = None,
    edge_settings: EdgeSettings | None = None,
    certificate_settings: CertificateSettings | None = None,
    pool: asyncpg.Pool | None = None,
    control_pool: asyncpg.Pool | None = None,
    ops_pool: asyncpg.Pool | None = None,
    eraser_pool: asyncpg.Pool | None = None,
    redis_client: redis.Redis | None = None,
    dns: TxtLookup | None = None,
) -> App:
    settings = domain_settings or DomainSettings.from_env(config.platform_domain)
    life = lifecycle_settings or LifecycleSettings.from_env()
    grace = timedelta(seconds=life.close_grace)
    edge = edge_settings or EdgeSettings.from_env()
    certs = certificate_settings or CertificateSettings.from_env()
    snapshot = RouteSnapshot()
    delta = DeltaAggregatedServer([RouteConfigProvider(snapshot)])
    owned = Owned()
    made: Slot[_Adapters] = Slot()

    async def startup() -> None:
        db = await owned.pool(pool, config.database_url, config.db_pool_size)
        control = await owned.pool(control_pool, config.control_database_url, 4)
        ops = await owned.pool(ops_pool, life.ops_database_url, 4)
        eraser_db = await owned.pool(eraser_pool, life.eraser_database_url, 2)
        cache = owned.redis(redis_client, config.redis_url)
        routes: ChangeFeed | RouteSync
        if edge.routes == "on_demand":
            reader = RouteReader(control, config.platform_domain)
            vhosts = VirtualHostProvider(reader, absent_ttl=edge.absent_ttl_seconds)
            delta.add(vhosts)
            await snapshot.publish(on_demand_route_configuration(config.platform_domain))
            routes = ChangeFeed(
                config.control_database_url,
                reader,
                vhosts,
                check_interval=edge.check_interval_seconds,
            )
        else:
            routes = RouteSync(
                config.control_database_url,
                control,
                RouteTable(config.platform_domain),
                snapshot,
                config.platform_domain,
                resync_interval=edge.check_interval_seconds,
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
        eraser = StoreEraser(
            eraser_db,
            cache,
            config.platform_domain,
            interval=life.erase_interval,
            batch=life.erase_batch,
            redact_wait=life.redact_wait,
        )
        await eraser.start()
        owned.add(eraser.stop)
        certificates_due: Callable[[], None] = _nothing
        if certs.issuer != "off":
            certificates = CertificateRepository(db, control)
            provisioner = CertificateProvisioner(
                certificates,
                _issuer(certs, certificates, owned),
                KeySealer.from_setting(certs.encryption_keys),
                interval=certs.interval,
                retry_after=certs.retry_after,
            )
            await provisioner.start()
            owned.add(provisioner.stop)
            certificates_due = provisioner.wake
        made.set(_Adapters(db, control, ops, cache, domains, lookup, certificates_due))

    def register(server: grpc.aio.Server) -> list[str]:
        adapters = made.get()
        db = adapters.pool
        stores = StoreRepository(db)
        store_pb2_grpc.add_PlatformServicer_to_server(
            PlatformServicer(stores, config.platform_domain, ApiReference()), server
        )
        store_pb2_grpc.add_ShopServicer_to_server(
            ShopServicer(stores, config.platform_domain), server
        )
        resolver = TokenResolver(adapters.control, adapters.redis)
        custom_domains = CustomDomains(
            adapters.domains,
            adapters.dns,
            settings.brand,
            config.platform_domain,
            on_verified=adapters.certificates_due,
        )
        ownership = Ownership(
            OwnershipRepository(db), LifecycleRepository(db), grace, config.platform_domain
        )
        store_pb2_grpc.add_StoreAdminServicer_to_server(
            StoreAdminServicer(
                stores,
                custom_domains,
                TokenRepository(db),
                resolver,
                config.platform_domain,
                ownership,
            ),
            server,
        )
        operators = OperatorResolver(adapters.control)
        audit_log = AuditLog(adapters.ops)
        access = EdgeAccess(admin_method_scopes(), operator_method_scopes(), admin_read_methods())
        external_auth_pb2_grpc.add_AuthorizationServicer_to_server(
            AuthorizationServicer(resolver, access, JsonBodyGuard(), operators, audit_log), server
        )
        operations = Operations(
            StoreDirectory(adapters.ops), LifecycleRepository(adapters.ops), audit_log, grace
        )
        operations_pb2_grpc.add_OperationsServicer_to_server(
            OperationsServicer(operations, operators), server
        )
        webhooks_pb2_grpc.add_WebhookAdminServicer_to_server(
            WebhookAdminServicer(
                WebhookRepository(
                    db,
                    SsrfPolicy.from_env(),
                    default_overlap=env_int(
                        "WEBHOOK_SECRET_OVERLAP_SECONDS", DEFAULT_OVERLAP_SECONDS
                    ),
                )
            ),
            server,
        )
        ads_pb2_grpc.add_AggregatedDiscoveryServiceServicer_to_server(
            AggregatedDiscoveryServicer(snapshot, delta), server
        )
        return [
            "shop.store.v1.Platform",
            "shop.store.v1.Shop",
            "shop.store.v1.StoreAdmin",
            "shop.store.v1.WebhookAdmin",
            OPERATOR_API,
            *ENVOY_FACING,
        ]

    return App(
        config=config,
        register=register,
        tenant_exempt=("shop.store.v1.Platform", OPERATOR_API, *ENVOY_FACING),
        # Only Envoy: xDS carries every store's domains and ids, ext_authz answers whether a
        # token is good; neither is anyone else's business.
        edge_only=ENVOY_FACING,
        # Reflection through Envoy lands here: describe the whole public API.
        reflected=TRANSCODED_SERVICES,
        on_startup=[startup],
        on_shutdown=[owned.close],
    )
