"""gRPC entrypoints of the Checkout service: thin translations to the use cases."""

from __future__ import annotations

from shop.checkout.v1 import checkout_pb2 as pb
from shop.checkout.v1 import checkout_pb2_grpc

from services.checkout.cart_service import Carts
from services.checkout.flow import CheckoutFlow
from services.checkout.messages import order_message
from services.checkout.order_admin import OrderAdmin
from services.checkout.stripe_events import StripeEvents

IDEMPOTENCY_HEADER = "idempotency-key"


class CartServicer(checkout_pb2_grpc.CartServicer):
    def __init__(self, carts: Carts) -> None:
        self._carts = carts

    async def CreateCart(self, request, context):
        return await self._carts.create(request)

    async def GetCart(self, request, context):
        return await self._carts.get(request.cart_id)

    async def AddLine(self, request, context):
        return await self._carts.add(request.cart_id, request.variant_id, request.quantity)

    async def UpdateLine(self, request, context):
        return await self._carts.update(request.cart_id, request.line_id, request.quantity)

    async def RemoveLine(self, request, context):
        return await self._carts.remove(request.cart_id, request.line_id)


class CheckoutServicer(checkout_pb2_grpc.CheckoutServicer):
    def __init__(self, flow: CheckoutFlow) -> None:
        self._flow = flow

    async def Checkout(self, request, context):
        keys = [v for k, v in context.invocation_metadata() or () if k == IDEMPOTENCY_HEADER]
        return await self._flow.checkout(request, keys[0] if len(keys) == 1 else None)


class StripeWebhooksServicer(checkout_pb2_grpc.StripeWebhooksServicer):
    def __init__(self, events: StripeEvents) -> None:
        self._events = events

    async def HandleEvent(self, request, context):
        signature = next(
            (v for k, v in context.invocation_metadata() or () if k == "stripe-signature"), ""
        )
        await self._events.handle(request.body.data, signature)
        return pb.HandleEventResponse()


class OrdersAdminServicer(checkout_pb2_grpc.OrdersAdminServicer):
    def __init__(self, orders: OrderAdmin) -> None:
        self._orders = orders

    async def GetOrder(self, request, context):
        return order_message(await self._orders.get(request.id))

    async def ListOrders(self, request, context):
        orders, token = await self._orders.list(request)
        return pb.ListOrdersResponse(
            orders=[order_message(o) for o in orders], next_page_token=token
        )

    async def CancelOrder(self, request, context):
        restock = request.restock if request.HasField("restock") else True
        return order_message(await self._orders.cancel(request.id, restock))

    async def RefundOrder(self, request, context):
        return order_message(await self._orders.refund(request))
