"""Carts → Cart API messages."""

from __future__ import annotations

from shop.checkout.v1 import checkout_pb2 as pb

from services.checkout.cart.rules import CartView
from services.common.messages import money, to_timestamp


def cart_message(view: CartView) -> pb.CartView:
    return pb.CartView(
        id=view.id,
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
            for line in view.lines
        ],
        subtotal=money(view.subtotal, view.currency),
        item_count=view.item_count,
        expires_at=to_timestamp(view.expires_at),
    )
