"""Conversions between checkout protobuf messages and domain objects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.protobuf.json_format import MessageToDict
from shop.checkout.v1 import checkout_pb2 as pb
from shop.common.v1 import money_pb2

from services.checkout.orders import Order
from services.checkout.pricing import PricedLine
from services.common.timestamps import to_timestamp


def money(amount: int, currency: str) -> money_pb2.Money:
    return money_pb2.Money(amount_minor=amount, currency_code=currency)


def cart_view(cart_id: str, lines: list[PricedLine], expires_at: datetime) -> pb.CartView:
    available = [line for line in lines if line.available]
    currency = next((line.currency for line in lines if line.currency), "")
    return pb.CartView(
        id=cart_id,
        lines=[
            pb.CartLine(
                id=line.id,
                variant_id=line.variant_id,
                product_id=line.product_id,
                sku=line.sku or "",
                title=line.title,
                quantity=line.quantity,
                unit_price=money(line.unit_price, line.currency),
                line_total=money(line.total, line.currency),
                available=line.available,
            )
            for line in lines
        ],
        subtotal=money(sum(line.total for line in available), currency),
        item_count=sum(line.quantity for line in lines),
        expires_at=to_timestamp(expires_at),
    )


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
    )
