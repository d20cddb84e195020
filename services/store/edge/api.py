"""Which gRPC services the edge exposes, and how: the xDS route builder and the authorizer
both read this, so a service is public, admin, operator or platform in exactly one place."""

from __future__ import annotations

# Importing the generated modules registers their descriptors, which scopes.py and
# json_guard.py read.
from shop.catalog.v1 import (
    catalog_pb2,  # noqa: F401
    collections_pb2,  # noqa: F401
    inventory_pb2,  # noqa: F401
)
from shop.checkout.v1 import (
    checkout_pb2,  # noqa: F401
    customers_pb2,  # noqa: F401
    payments_pb2,  # noqa: F401
    reports_pb2,  # noqa: F401
)
from shop.platform.v1 import operations_pb2  # noqa: F401
from shop.store.v1 import (
    store_pb2,  # noqa: F401
    webhooks_pb2,  # noqa: F401
)

# service name → upstream cluster
PLATFORM_SERVICES = {
    "shop.store.v1.Platform": "store",
    # Stripe's webhook endpoint: public (the signature is the authentication).
    "shop.checkout.v1.StripeWebhooks": "checkout",
}
ADMIN_SERVICES = {
    "shop.store.v1.StoreAdmin": "store",
    "shop.store.v1.WebhookAdmin": "store",
    "shop.catalog.v1.CatalogAdmin": "catalog",
    "shop.catalog.v1.InventoryAdmin": "catalog",
    "shop.catalog.v1.CollectionsAdmin": "catalog",
    "shop.checkout.v1.OrdersAdmin": "checkout",
    "shop.checkout.v1.ShippingAdmin": "checkout",
    "shop.checkout.v1.PaymentsAdmin": "checkout",
    "shop.checkout.v1.ReportsAdmin": "checkout",
    "shop.checkout.v1.CustomersAdmin": "checkout",
}
# The platform's own operators: on the platform host only, with an operator credential (never a
# store token); every store's host refuses them.
OPERATOR_SERVICES = {
    "shop.platform.v1.Operations": "store",
}
STOREFRONT_SERVICES = {
    "shop.catalog.v1.Storefront": "catalog",
    # The store's public name, currency, domain, theme and public settings.
    "shop.store.v1.Shop": "store",
    "shop.checkout.v1.Cart": "checkout",
    "shop.checkout.v1.Checkout": "checkout",
    # Shoppers' accounts: no admin token; signed-in calls carry x-shopper-session.
    "shop.checkout.v1.CustomerAccounts": "checkout",
}
# grpcurl through Envoy: the Store service describes every public service; no token needed.
REFLECTION_SERVICES = (
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
)
# Called without a token; the edge's ext_authz matcher skips exactly these (envoy/bootstrap.yaml).
PUBLIC_SERVICES = (*PLATFORM_SERVICES, *STOREFRONT_SERVICES, *REFLECTION_SERVICES)

TRANSCODED_SERVICES = (
    *PLATFORM_SERVICES,
    *OPERATOR_SERVICES,
    *ADMIN_SERVICES,
    *STOREFRONT_SERVICES,
)
