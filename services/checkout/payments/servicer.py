"""gRPC entrypoint of Stripe's webhook endpoint (the raw body and its signature)."""

from __future__ import annotations

import grpc
from shop.checkout.v1 import checkout_pb2 as pb
from shop.checkout.v1 import checkout_pb2_grpc

from services.checkout.payments.stripe_events import StripeEvents
from services.common.interceptors import metadata_values


class StripeWebhooksServicer(checkout_pb2_grpc.StripeWebhooksServicer):
    def __init__(self, events: StripeEvents) -> None:
        self._events = events

    async def HandleEvent(
        self, request: pb.HandleEventRequest, context: grpc.aio.ServicerContext
    ) -> pb.HandleEventResponse:
        signature = next(iter(metadata_values(context, "stripe-signature")), "")
        await self._events.handle(request.body.data, signature)
        return pb.HandleEventResponse()
