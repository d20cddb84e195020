"""The platform's plans: what a store pays the platform and how much traffic the edge lets
through. One table, read by the edge (rate limits) and the checkout (the platform fee on each
payment). Plain Python: no gRPC, SQL or Stripe here."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PLAN = "standard"


@dataclass(frozen=True)
class Plan:
    # Token bucket at the edge; all traffic of a store counts (storefront, admin, REST, gRPC).
    requests_per_second: int
    burst: int
    # The platform's fee on each payment, taken by Stripe as `application_fee_amount` on the
    # store's direct charge: basis points of the amount plus a fixed part in minor units.
    fee_basis_points: int
    fee_fixed_minor: int = 0


PLANS: dict[str, Plan] = {
    # Stores under construction (partner/test stores): no fee.
    "development": Plan(requests_per_second=10, burst=20, fee_basis_points=0),
    "basic": Plan(requests_per_second=100, burst=200, fee_basis_points=200),
    "standard": Plan(requests_per_second=200, burst=400, fee_basis_points=100),
    "plus": Plan(requests_per_second=1000, burst=2000, fee_basis_points=50),
    "enterprise": Plan(requests_per_second=10000, burst=20000, fee_basis_points=25),
}


def plan_named(name: str) -> Plan:
    return PLANS.get(name, PLANS[DEFAULT_PLAN])


def platform_fee(plan: str, amount: int) -> int:
    """The fee in minor units, rounded down (any fraction stays with the merchant) and never
    more than the amount."""
    terms = plan_named(plan)
    fee = amount * terms.fee_basis_points // 10_000 + terms.fee_fixed_minor
    return max(0, min(fee, amount))
