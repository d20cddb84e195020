"""Fulfillments ⇄ OrdersAdmin messages."""

from __future__ import annotations

from shop.checkout.v1 import checkout_pb2 as pb

from services.checkout.fulfillment.repository import Fulfillment
from services.checkout.fulfillment.rules import Tracking
from services.common.messages import to_timestamp


def tracking_from(message: pb.Tracking) -> Tracking:
    return Tracking(message.company, message.number, message.url)


def fulfillment_message(f: Fulfillment) -> pb.Fulfillment:
    return pb.Fulfillment(
        id=str(f.id),
        order_id=str(f.order_id),
        status=f.status,
        lines=[pb.FulfillmentLine(variant_id=v, quantity=q) for v, q in f.lines],
        tracking=pb.Tracking(
            company=f.tracking.company, number=f.tracking.number, url=f.tracking.url
        ),
        notify_customer=f.notify_customer,
        created_at=to_timestamp(f.created_at),
        updated_at=to_timestamp(f.updated_at),
    )
