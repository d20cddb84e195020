"""gRPC entrypoint of the Checkout API: the request and the Idempotency-Key in, the outcome
out."""

from __future__ import annotations

from typing import Protocol

import grpc
from shop.checkout.v1 import checkout_pb2 as pb
from shop.checkout.v1 import checkout_pb2_grpc

from services.checkout.checkout.flow import AwaitingAction, CheckoutFlow, Outcome, Paid, Replayed
from services.checkout.checkout.rules import checkout_request
from services.checkout.customers.rules import Customer, checkout_defaults
from services.checkout.customers.servicer import session_token
from services.checkout.orders.messages import address_dict, order_message
from services.common.interceptors import metadata_values

IDEMPOTENCY_HEADER = "idempotency-key"


def paid_response(paid: Paid) -> pb.CheckoutResponse:
    return pb.CheckoutResponse(
        status="paid", order=order_message(paid.order), checkout_id=paid.checkout_id
    )


def encode_paid(paid: Paid) -> bytes:
    """What the idempotency record stores, and so what every replay answers."""
    return paid_response(paid).SerializeToString()


def outcome_message(outcome: Outcome) -> pb.CheckoutResponse:
    if isinstance(outcome, Replayed):
        return pb.CheckoutResponse.FromString(outcome.response)
    if isinstance(outcome, AwaitingAction):
        return pb.CheckoutResponse(
            status="requires_action",
            client_secret=outcome.client_secret,
            checkout_id=outcome.checkout_id,
        )
    return paid_response(outcome)


class Shoppers(Protocol):
    async def shopper(self, session_token: str) -> Customer: ...


class CheckoutServicer(checkout_pb2_grpc.CheckoutServicer):
    def __init__(self, flow: CheckoutFlow, shoppers: Shoppers | None = None) -> None:
        self._flow = flow
        self._shoppers = shoppers

    async def Checkout(
        self, request: pb.CheckoutRequest, context: grpc.aio.ServicerContext
    ) -> pb.CheckoutResponse:
        keys = metadata_values(context, IDEMPOTENCY_HEADER)
        email, shipping = request.email, address_dict(request.shipping_address)
        token = session_token(context)
        if token is not None and self._shoppers is not None:
            # Signed in: the account's email and default address, filled before the request
            # is recorded, so the idempotency fingerprint covers what the order will use.
            email, shipping = checkout_defaults(
                await self._shoppers.shopper(token), email, shipping
            )
        wanted = checkout_request(
            cart_id=request.cart_id,
            email=email,
            shipping_address=shipping,
            billing_address=(
                address_dict(request.billing_address) if request.HasField("billing_address") else {}
            ),
            payment_method=request.payment_method,
            shipping_rate_id=request.shipping_rate_id,
        )
        outcome = await self._flow.checkout(wanted, keys[0] if len(keys) == 1 else None)
        return outcome_message(outcome)
