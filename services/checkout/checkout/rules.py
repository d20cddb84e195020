"""What a valid checkout request is. Plain Python: no gRPC, SQL or Stripe here.

The request is kept as the plain dict that is recorded and fingerprinted with the idempotency
record (services.checkout.checkout.records), so a retry is compared field by field."""

from __future__ import annotations

from typing import Any

from services.common.errors import Validator

REQUIRED_ADDRESS_FIELDS = ("name", "line1", "city", "postal_code", "country")


def checkout_request(
    cart_id: str,
    email: str,
    shipping_address: dict[str, Any],
    billing_address: dict[str, Any],
    payment_method: str,
    shipping_rate_id: str = "",
) -> dict[str, Any]:
    """The request as recorded and fingerprinted (billing defaults to shipping). The shipping
    rate is recorded only when given, so requests without one keep their fingerprints."""
    request = {
        "cart_id": cart_id,
        "email": email.strip(),
        "shipping_address": shipping_address,
        "billing_address": billing_address or shipping_address,
        "payment_method": payment_method,
    }
    if shipping_rate_id.strip():
        request["shipping_rate_id"] = shipping_rate_id.strip()
    return request


def validate(request: dict[str, Any]) -> None:
    v = Validator()
    v.check(
        "@" in request["email"] and len(request["email"]) <= 254,
        "email",
        "must be an email address",
    )
    shipping = request["shipping_address"]
    for name in REQUIRED_ADDRESS_FIELDS:
        v.check(bool(shipping.get(name, "").strip()), f"shipping_address.{name}", "is required")
    country = shipping.get("country", "")
    v.check(
        len(country) == 2 and country.isalpha(),
        "shipping_address.country",
        "must be an ISO 3166-1 alpha-2 code such as US",
    )
    v.check(
        bool(request["payment_method"].strip()),
        "payment_method",
        "is required (a PaymentMethod id, e.g. pm_card_visa in test mode)",
    )
    v.raise_if_any()
