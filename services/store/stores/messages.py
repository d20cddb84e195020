"""Domain objects → Store API messages."""

from __future__ import annotations

from google.protobuf import json_format, struct_pb2
from shop.store.v1 import store_pb2

from services.common.messages import to_timestamp
from services.store.domains.rules import CustomDomain, DomainState
from services.store.stores.rules import Store
from services.store.stores.settings_rules import public_settings
from services.store.tokens.rules import TokenInfo


def platform_host(store: Store, platform_domain: str) -> str:
    return f"{store.subdomain}.{platform_domain}"


def store_message(store: Store, platform_domain: str) -> store_pb2.Store:
    settings = struct_pb2.Struct()
    json_format.ParseDict(store.settings, settings)
    return store_pb2.Store(
        id=str(store.id),
        name=store.name,
        subdomain=store.subdomain,
        primary_domain=store.primary_custom_domain or platform_host(store, platform_domain),
        owner_email=store.owner_email,
        currency=store.currency,
        created_at=to_timestamp(store.created_at),
        theme_id=store.theme_id,
        low_stock_threshold=store.low_stock_threshold,
        settings=settings,
        plan=store.plan,
        status=STORE_STATUSES.get(store.status, store_pb2.STORE_STATUS_UNSPECIFIED),
        pending_owner_email=store.pending_owner_email or "",
        erase_after=to_timestamp(store.erase_after),
    )


def public_shop_message(store: Store, platform_domain: str) -> store_pb2.PublicShop:
    settings = struct_pb2.Struct()
    json_format.ParseDict(public_settings(store.settings), settings)
    return store_pb2.PublicShop(
        name=store.name,
        currency=store.currency,
        primary_domain=store.primary_custom_domain or platform_host(store, platform_domain),
        theme_id=store.theme_id,
        settings=settings,
    )


STORE_STATUSES = {
    "active": store_pb2.STORE_STATUS_ACTIVE,
    "suspended": store_pb2.STORE_STATUS_SUSPENDED,
    "closed": store_pb2.STORE_STATUS_CLOSED,
}


_STATUS = {
    DomainState.PENDING: store_pb2.DOMAIN_STATUS_PENDING,
    DomainState.VERIFIED: store_pb2.DOMAIN_STATUS_VERIFIED,
}


def domain_message(domain: CustomDomain, record_name: str) -> store_pb2.Domain:
    return store_pb2.Domain(
        domain=domain.domain,
        status=_STATUS[domain.state],
        primary=domain.is_primary,
        verification_record=store_pb2.DnsRecord(
            type="TXT", name=record_name, value=domain.verification_token
        ),
        created_at=to_timestamp(domain.created_at),
        verified_at=to_timestamp(domain.verified_at),
        last_checked_at=to_timestamp(domain.last_checked_at),
        ssl_provisioned_at=to_timestamp(domain.ssl_provisioned_at),
        ssl_expires_at=to_timestamp(domain.ssl_expires_at),
    )


def token_message(info: TokenInfo, secret: str = "") -> store_pb2.AccessToken:
    return store_pb2.AccessToken(
        id=info.id,
        token=secret,
        scopes=list(info.scopes),
        name=info.name,
        created_at=to_timestamp(info.created_at),
        revoked_at=to_timestamp(info.revoked_at),
    )
