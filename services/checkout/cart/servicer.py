"""gRPC entrypoint of the Cart API: thin translations to the cart use cases."""

from __future__ import annotations

from shop.checkout.v1 import checkout_pb2 as pb
from shop.checkout.v1 import checkout_pb2_grpc

from services.checkout.cart.carts import Carts
from services.checkout.cart.messages import cart_message
from services.checkout.shipping.messages import options_message
from services.checkout.shipping.options import ShippingOptions


class CartServicer(checkout_pb2_grpc.CartServicer):
    def __init__(self, carts: Carts, shipping: ShippingOptions) -> None:
        self._carts = carts
        self._shipping = shipping

    async def CreateCart(self, request: pb.CreateCartRequest, context: object) -> pb.CartView:
        lines = [(line.variant_id, line.quantity) for line in request.lines]
        return cart_message(await self._carts.create(lines))

    async def GetCart(self, request: pb.GetCartRequest, context: object) -> pb.CartView:
        return cart_message(await self._carts.get(request.cart_id))

    async def AddLine(self, request: pb.AddLineRequest, context: object) -> pb.CartView:
        return cart_message(
            await self._carts.add(request.cart_id, request.variant_id, request.quantity)
        )

    async def UpdateLine(self, request: pb.UpdateLineRequest, context: object) -> pb.CartView:
        return cart_message(
            await self._carts.update(request.cart_id, request.line_id, request.quantity)
        )

    async def RemoveLine(self, request: pb.RemoveLineRequest, context: object) -> pb.CartView:
        return cart_message(await self._carts.remove(request.cart_id, request.line_id))

    async def ListShippingRates(
        self, request: pb.ListShippingRatesRequest, context: object
    ) -> pb.ListShippingRatesResponse:
        found = await self._shipping.for_cart(
            request.cart_id, request.address.country, request.address.region
        )
        return options_message(found)
