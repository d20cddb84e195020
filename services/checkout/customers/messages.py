"""Customers, accounts and their orders → API messages."""

from __future__ import annotations

from shop.checkout.v1 import checkout_pb2
from shop.checkout.v1 import customers_pb2 as pb

from services.checkout.customers.accounts import SignedIn
from services.checkout.customers.rules import Customer
from services.checkout.orders.messages import order_message
from services.checkout.orders.rules import Order
from services.common.messages import money, to_timestamp


def _address(raw: dict | None) -> checkout_pb2.Address | None:
    return checkout_pb2.Address(**raw) if raw else None


def customer_message(customer: Customer) -> pb.Customer:
    return pb.Customer(
        id=str(customer.id),
        email=customer.email or "",
        name=customer.name or "",
        phone=customer.phone or "",
        default_address=_address(customer.default_address),
        marketing_consent=pb.MarketingConsent(
            state=customer.consent.state,
            source=customer.consent.source or "",
            updated_at=to_timestamp(customer.consent.updated_at),
        ),
        tags=list(customer.tags),
        note=customer.note or "",
        orders_count=customer.orders_count,
        total_spent=money(customer.total_spent, customer.currency),
        has_account=customer.has_account,
        created_at=to_timestamp(customer.created_at),
        updated_at=to_timestamp(customer.updated_at),
        erased_at=to_timestamp(customer.erased_at),
    )


def detail_message(customer: Customer, recent: list[Order]) -> pb.CustomerDetail:
    return pb.CustomerDetail(
        customer=customer_message(customer), recent_orders=[order_message(o) for o in recent]
    )


def me_message(customer: Customer) -> pb.Me:
    return pb.Me(
        id=str(customer.id),
        email=customer.email or "",
        name=customer.name or "",
        phone=customer.phone or "",
        default_address=_address(customer.default_address),
        accepts_marketing=customer.consent.state == "subscribed",
        orders_count=customer.orders_count,
        created_at=to_timestamp(customer.created_at),
    )


def session_message(signed_in: SignedIn) -> pb.SessionResponse:
    return pb.SessionResponse(
        session_token=signed_in.token,
        expires_at=to_timestamp(signed_in.expires_at),
        me=me_message(signed_in.customer),
    )


def my_order_message(order: Order) -> pb.MyOrder:
    full = order_message(order)
    return pb.MyOrder(
        id=full.id,
        number=full.number,
        status=full.status,
        lines=full.lines,
        total=full.total,
        refunded=full.refunded,
        shipping_address=full.shipping_address,
        created_at=full.created_at,
    )
