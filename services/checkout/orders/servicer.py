"""gRPC entrypoint of the merchant's order admin API."""

from __future__ import annotations

import grpc
from shop.checkout.v1 import checkout_pb2 as pb
from shop.checkout.v1 import checkout_pb2_grpc

from services.checkout.fulfillment.fulfillments import Fulfillments
from services.checkout.fulfillment.messages import fulfillment_message, tracking_from
from services.checkout.orders.admin import OrderAdmin, OrderQuery, RefundRequest
from services.checkout.orders.messages import order_message


class OrdersAdminServicer(checkout_pb2_grpc.OrdersAdminServicer):
    def __init__(self, orders: OrderAdmin, fulfillments: Fulfillments) -> None:
        self._orders = orders
        self._fulfillments = fulfillments

    async def GetOrder(
        self, request: pb.GetOrderRequest, context: grpc.aio.ServicerContext
    ) -> pb.Order:
        return order_message(await self._orders.get(request.id))

    async def ListOrders(
        self, request: pb.ListOrdersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListOrdersResponse:
        query = OrderQuery(
            page_size=request.page_size,
            page_token=request.page_token,
            status=request.status,
            created_after=(
                request.created_after.ToDatetime() if request.HasField("created_after") else None
            ),
            created_before=(
                request.created_before.ToDatetime() if request.HasField("created_before") else None
            ),
        )
        orders, token = await self._orders.list(query)
        return pb.ListOrdersResponse(
            orders=[order_message(o) for o in orders], next_page_token=token
        )

    async def CancelOrder(
        self, request: pb.CancelOrderRequest, context: grpc.aio.ServicerContext
    ) -> pb.Order:
        restock = request.restock if request.HasField("restock") else True
        return order_message(await self._orders.cancel(request.id, restock))

    async def RefundOrder(
        self, request: pb.RefundOrderRequest, context: grpc.aio.ServicerContext
    ) -> pb.Order:
        refund = RefundRequest(
            order_id=request.id,
            lines=[(line.variant_id, line.quantity) for line in request.lines],
            amount=request.amount_minor,
            restock=request.restock,
        )
        return order_message(await self._orders.refund(refund))

    async def CreateFulfillment(
        self, request: pb.CreateFulfillmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.Fulfillment:
        made = await self._fulfillments.create(
            request.order_id,
            [(line.variant_id, line.quantity) for line in request.lines],
            tracking_from(request.tracking),
            request.notify_customer,
        )
        return fulfillment_message(made)

    async def UpdateTracking(
        self, request: pb.UpdateTrackingRequest, context: grpc.aio.ServicerContext
    ) -> pb.Fulfillment:
        changed = await self._fulfillments.update_tracking(
            request.order_id, request.id, tracking_from(request.tracking), request.notify_customer
        )
        return fulfillment_message(changed)

    async def CancelFulfillment(
        self, request: pb.CancelFulfillmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.Fulfillment:
        return fulfillment_message(await self._fulfillments.cancel(request.order_id, request.id))

    async def ListFulfillments(
        self, request: pb.ListFulfillmentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListFulfillmentsResponse:
        found = await self._fulfillments.of_order(request.order_id)
        return pb.ListFulfillmentsResponse(fulfillments=[fulfillment_message(f) for f in found])
