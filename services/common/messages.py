"""Conversions every service's response messages share: datetime → Timestamp, and integer minor
units → Money."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp
from shop.common.v1 import money_pb2


def to_timestamp(value: datetime | None) -> Timestamp | None:
    """None stays None, so an unset time leaves the message field unset."""
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def money(amount: int, currency: str) -> money_pb2.Money:
    return money_pb2.Money(amount_minor=amount, currency_code=currency)


def optional_money(amount: int | None, currency: str) -> money_pb2.Money | None:
    """None stays None (e.g. a variant without a compare-at price)."""
    return None if amount is None else money(amount, currency)
