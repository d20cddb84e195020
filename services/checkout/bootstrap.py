"""Wires the Checkout service: carts (Redis), the checkout flow and its storage, Stripe
(payments, Connect, webhooks), the recovery worker.

Every adapter can be passed in (a test's pool, an in-memory cart store, storage or payment
gateway); what is not passed is created from the configuration and closed at shutdown."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import grpc
import redis.asyncio as redis
from shop.checkout.v1 import (
    checkout_pb2_grpc,
    customers_pb2_grpc,
    payments_pb2_grpc,
    reports_pb2_grpc,
)

from services.checkout.cart.carts import Carts
from services.checkout.cart.rules import CartSource
from services.checkout.cart.servicer import CartServicer
from services.checkout.cart.store import CartStore
from services.checkout.checkout.claims import StaleCheckouts
from services.checkout.checkout.flow import CheckoutFlow, Paid
from services.checkout.checkout.recovery import RecoveryWorker
from services.checkout.checkout.repository import PgCheckoutStorage
from services.checkout.checkout.servicer import CheckoutServicer, encode_paid
from services.checkout.checkout.storage import CheckoutStorage
from services.checkout.config import CheckoutSettings
from services.checkout.customers.accounts import Accounts
from services.checkout.customers.admin import CustomerAdmin
from services.checkout.customers.passwords import PasswordHasher
from services.checkout.customers.servicer import (
    CustomerAccountsServicer,
    CustomersAdminServicer,
)
from services.checkout.customers.sessions import EmailTokens, SessionStore
from services.checkout.customers.settings import AccountSettings
from services.checkout.customers.throttle import Throttle
from services.checkout.fulfillment.fulfillments import Fulfillments
from services.checkout.orders.admin import OrderAdmin
from services.checkout.orders.disputes import Disputes
from services.checkout.orders.refunds import Refunds
from services.checkout.orders.rules import Order
from services.checkout.orders.servicer import OrdersAdminServicer
from services.checkout.payments.accounts import StoreAccounts
from services.checkout.payments.connect import StripeConnect
from services.checkout.payments.event_types import (
    DISPUTE_EVENTS,
    PAYOUT_EVENTS,
    REFUND_EVENTS,
)
from services.checkout.payments.gateway import StripeGateway, stripe_client
from services.checkout.payments.onboarding import Payments
from services.checkout.payments.payouts import PayoutNews
from services.checkout.payments.rules import PaymentGateway
from services.checkout.payments.servicer import PaymentsAdminServicer, StripeWebhooksServicer
from services.checkout.payments.stripe_events import Handler, StripeEvents
from services.checkout.payments.stripe_reads import StripeReads
from services.checkout.reports.repository import SalesReports
from services.checkout.reports.servicer import ReportsAdminServicer
from services.checkout.shipping.admin import ShippingSetup
from services.checkout.shipping.options import ShippingOptions
from services.checkout.shipping.servicer import ShippingAdminServicer
from services.common.config import Config
from services.common.server import App
from services.common.wiring import Owned, Slot

SERVICES = [
    "shop.checkout.v1.Cart",
    "shop.checkout.v1.Checkout",
    "shop.checkout.v1.OrdersAdmin",
    "shop.checkout.v1.ShippingAdmin",
    "shop.checkout.v1.PaymentsAdmin",
    "shop.checkout.v1.ReportsAdmin",
    "shop.checkout.v1.StripeWebhooks",
    "shop.checkout.v1.CustomersAdmin",
    "shop.checkout.v1.CustomerAccounts",
]


@dataclass
class Checkout:
    """The service's parts once started."""

    pool: asyncpg.Pool
    carts: CartStore
    gateway: PaymentGateway
    flow: CheckoutFlow
    accounts: StoreAccounts
    connect: StripeConnect
    recovery: RecoveryWorker
    refunds: Refunds
    disputes: Disputes
    payouts: PayoutNews
    accounts_of_shoppers: Accounts
    customers: CustomerAdmin


def encode_checkout_response(order: Order, checkout_id: str) -> bytes:
    """What a completed checkout replays for `order` (an erased customer's orders)."""
    return encode_paid(Paid(checkout_id, order))


def _closing(hasher: PasswordHasher) -> Callable[[], Awaitable[None]]:
    async def close() -> None:
        hasher.close()

    return close


def stripe_side_handlers(part: Checkout) -> dict[str, Handler]:
    """What changes on Stripe's side and reaches the platform: refunds (made here or in the
    Dashboard), disputes, payouts. Each handler reads the object from Stripe now."""
    refunds = dict.fromkeys(REFUND_EVENTS, part.refunds.on_stripe_event)
    disputes = dict.fromkeys(DISPUTE_EVENTS, part.disputes.on_stripe_event)
    payouts = dict.fromkeys(PAYOUT_EVENTS, part.payouts.on_stripe_event)
    return {**refunds, **disputes, **payouts}


def build(
    config: Config,
    *,
    settings: CheckoutSettings | None = None,
    pool: asyncpg.Pool | None = None,
    worker_pool: asyncpg.Pool | None = None,
    redis_client: redis.Redis | None = None,
    carts: CartStore | None = None,
    storage: CheckoutStorage | None = None,
    gateway: PaymentGateway | None = None,
    run_recovery: bool = True,
    account_settings: AccountSettings | None = None,
) -> App:
    settings = settings or CheckoutSettings.from_env()
    accounts = account_settings or AccountSettings.from_env()
    owned = Owned()
    made: Slot[Checkout] = Slot()

    async def startup() -> None:
        db = await owned.pool(pool, config.database_url, config.db_pool_size)
        workers_db = await owned.pool(worker_pool, settings.worker_database_url, 2)
        shared_redis = owned.redis(redis_client, config.redis_url)
        cart_store = carts or CartStore(shared_redis, settings.cart_ttl_seconds)
        sessions = SessionStore(shared_redis, accounts.session_ttl_seconds)
        hasher = PasswordHasher(accounts.argon2)
        owned.add(_closing(hasher))
        client = stripe_client(settings)
        stripe_gateway = StripeGateway(client)
        payments = gateway or stripe_gateway
        source: CartSource = cart_store
        flow = CheckoutFlow(
            storage or PgCheckoutStorage(db), source, payments, settings, encode_paid
        )
        recovery = RecoveryWorker(
            StaleCheckouts(db, workers_db), flow, lease_seconds=settings.lease_seconds
        )
        if run_recovery:
            await recovery.start()
            owned.add(recovery.stop)
        reads = StripeReads(client)
        made.set(
            Checkout(
                db,
                cart_store,
                payments,
                flow,
                StoreAccounts(db, workers_db),
                StripeConnect(client),
                recovery,
                Refunds(db, reads),
                Disputes(db, reads),
                PayoutNews(db, reads),
                Accounts(
                    db,
                    sessions,
                    EmailTokens(shared_redis),
                    Throttle(
                        shared_redis, accounts.throttle_limit, accounts.throttle_window_seconds
                    ),
                    hasher,
                    accounts,
                    config.platform_domain,
                ),
                CustomerAdmin(db, sessions, encode_checkout_response),
            )
        )

    def register(server: grpc.aio.Server) -> list[str]:
        part = made.get()
        checkout_pb2_grpc.add_CartServicer_to_server(
            CartServicer(Carts(part.pool, part.carts), ShippingOptions(part.pool, part.carts)),
            server,
        )
        checkout_pb2_grpc.add_ShippingAdminServicer_to_server(
            ShippingAdminServicer(ShippingSetup(part.pool)), server
        )
        checkout_pb2_grpc.add_CheckoutServicer_to_server(
            CheckoutServicer(part.flow, part.accounts_of_shoppers), server
        )
        customers_pb2_grpc.add_CustomersAdminServicer_to_server(
            CustomersAdminServicer(part.customers), server
        )
        customers_pb2_grpc.add_CustomerAccountsServicer_to_server(
            CustomerAccountsServicer(part.accounts_of_shoppers), server
        )
        checkout_pb2_grpc.add_OrdersAdminServicer_to_server(
            OrdersAdminServicer(
                OrderAdmin(part.pool, part.gateway, part.refunds), Fulfillments(part.pool)
            ),
            server,
        )
        payments_pb2_grpc.add_PaymentsAdminServicer_to_server(
            PaymentsAdminServicer(Payments(part.accounts, part.connect, config.platform_domain)),
            server,
        )
        reports_pb2_grpc.add_ReportsAdminServicer_to_server(
            ReportsAdminServicer(SalesReports(part.pool)), server
        )
        events = StripeEvents(
            part.flow,
            part.gateway,
            part.accounts,
            part.connect,
            platform_secret=settings.stripe_webhook_secret,
            connect_secret=settings.stripe_connect_webhook_secret,
            handlers=stripe_side_handlers(part),
        )
        checkout_pb2_grpc.add_StripeWebhooksServicer_to_server(
            StripeWebhooksServicer(events), server
        )
        return SERVICES

    return App(
        config=config,
        register=register,
        tenant_exempt=("shop.checkout.v1.StripeWebhooks",),
        on_startup=[startup],
        on_shutdown=[owned.close],
    )
