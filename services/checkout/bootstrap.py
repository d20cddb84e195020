"""Wires the Checkout service: carts (Redis), the checkout flow, Stripe, the recovery worker."""

from __future__ import annotations

import redis.asyncio as redis
from shop.checkout.v1 import checkout_pb2_grpc

from services.checkout.cart_service import Carts
from services.checkout.cart_store import CartStore
from services.checkout.flow import CheckoutFlow
from services.checkout.order_admin import OrderAdmin
from services.checkout.payments import StripeGateway
from services.checkout.recovery import RecoveryWorker
from services.checkout.servicers import (
    CartServicer,
    CheckoutServicer,
    OrdersAdminServicer,
    StripeWebhooksServicer,
)
from services.checkout.settings import load as load_settings
from services.checkout.stripe_events import StripeEvents
from services.common.config import Config
from services.common.db import create_pool
from services.common.server import App

SERVICES = [
    "shop.checkout.v1.Cart",
    "shop.checkout.v1.Checkout",
    "shop.checkout.v1.OrdersAdmin",
    "shop.checkout.v1.StripeWebhooks",
]


def build(config: Config) -> App:
    settings = load_settings()
    state: dict = {}

    async def startup() -> None:
        state["pool"] = await create_pool(config.database_url, config.db_pool_size)
        state["worker_pool"] = await create_pool(settings.worker_database_url, 2)
        state["redis"] = redis.from_url(config.redis_url)
        gateway = StripeGateway(settings)
        carts = CartStore(state["redis"], settings.cart_ttl_seconds)
        flow = CheckoutFlow(state["pool"], carts, gateway, settings)
        state.update(gateway=gateway, carts=carts, flow=flow)
        state["recovery"] = RecoveryWorker(
            state["pool"],
            state["worker_pool"],
            flow,
            gateway,
            lease_seconds=settings.lease_seconds,
        )
        await state["recovery"].start()

    async def shutdown() -> None:
        await state["recovery"].stop()
        await state["redis"].aclose()
        await state["worker_pool"].close()
        await state["pool"].close()

    def register(server) -> list[str]:
        pool = state["pool"]
        checkout_pb2_grpc.add_CartServicer_to_server(
            CartServicer(Carts(pool, state["carts"])), server
        )
        checkout_pb2_grpc.add_CheckoutServicer_to_server(CheckoutServicer(state["flow"]), server)
        checkout_pb2_grpc.add_OrdersAdminServicer_to_server(
            OrdersAdminServicer(OrderAdmin(pool, state["gateway"])), server
        )
        checkout_pb2_grpc.add_StripeWebhooksServicer_to_server(
            StripeWebhooksServicer(
                StripeEvents(pool, state["flow"], state["gateway"], settings.stripe_webhook_secret)
            ),
            server,
        )
        return SERVICES

    return App(
        config=config,
        register=register,
        tenant_exempt=("shop.checkout.v1.StripeWebhooks",),
        on_startup=[startup],
        on_shutdown=[shutdown],
    )
