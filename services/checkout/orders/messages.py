"""Orders and addresses ↔ Checkout API messages."""

from __future__ import annotations

from typing import Any

from google.protobuf.json_format import MessageToDict
from shop.checkout.v1 import checkout_pb2 as pb

from services.checkout.orders.repository import Order
from services.common.messages import money, to_timestamp


def address_dict(address: pb.Address) -> dict[str, Any]:
    return MessageToDict(address, preserving_proto_field_name=True)


def order_message(order: Order) -> pb.Order:
    return pb.Order(
        id=str(order.id),
        number=order.number,
        status=order.status,
        email=order.email,
        lines=[
            pb.OrderLine(
                variant_id=line.variant_id,
                product_id=line.product_id,
                sku=line.sku or "",
                title=line.title,
                quantity=line.quantity,
                unit_price=money(line.unit_price, order.currency),
                total=money(line.unit_price * line.quantity, order.currency),
                refunded_quantity=line.refunded_quantity,
                tax=money(line.tax, order.currency),
                fulfilled_quantity=line.fulfilled_quantity,
            )
            for line in order.lines
        ],
        total=money(order.total, order.currency),
        refunded=money(order.refunded, order.currency),
        shipping_address=pb.Address(**order.shipping_address),
        billing_address=pb.Address(**order.billing_address),
        payment_intent_id=order.payment_intent_id,
        created_at=to_timestamp(order.created_at),
        updated_at=to_timestamp(order.updated_at),
        application_fee=money(order.application_fee, order.currency),
        application_fee_refunded=money(order.application_fee_refunded, order.currency),
        refunds=[
            pb.OrderRefund(
                id=refund.stripe_id,
                amount=money(refund.amount, order.currency),
                status=refund.status,
                failure_reason=refund.failure_reason or "",
                source=refund.source,
                cancellation=refund.cancellation,
                application_fee_refunded=money(refund.fee_refunded, order.currency),
                created_at=to_timestamp(refund.created_at),
                updated_at=to_timestamp(refund.updated_at),
            )
            for refund in order.refunds
        ],
        disputed=order.disputed,
        dispute_status=order.dispute_status or "",
        customer_id=str(order.customer_id) if order.customer_id else "",
        subtotal=money(order.subtotal, order.currency),
        shipping=money(order.shipping, order.currency),
        tax=money(order.tax, order.currency),
        discount=money(order.discount, order.currency),
        prices_include_tax=order.prices_include_tax,
        payment_status=order.payment_status,
        fulfillment_status=order.fulfillment_status,
        shipping_rate_id=order.shipping_rate_id or "",
        shipping_rate_name=order.shipping_rate_name or "",
    )
