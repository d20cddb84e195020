"""Per-store request rate limits at the edge, by plan.

The token buckets live in the listener's `envoy.filters.http.local_ratelimit` config
(envoy/bootstrap.yaml): one descriptor per plan, `[plan=<plan>, store=*]`, whose empty store
value makes Envoy create one bucket per store id on demand (`max_dynamic_descriptors`). Each
store's virtual host only names its plan and store id (two `generic_key` actions, ~60 bytes).
Buckets therefore survive route pushes: a push replaces virtual hosts, not the listener's
filter config. They are per Envoy process (shared by its workers), so with N replicas behind
a load balancer a store gets up to N times its limit; a global limit needs Envoy's
`ratelimit` filter and a shared rate-limit service (e.g. envoyproxy/ratelimit on Redis), at
the cost of a network hop per request."""

from __future__ import annotations

from envoy.config.route.v3 import route_components_pb2 as rc

from services.common.plans import DEFAULT_PLAN, PLANS

PLAN_KEY = "plan"
STORE_KEY = "store"

# Must match the descriptors in envoy/bootstrap.yaml (a unit test compares them).


def store_rate_limit(store_id: int, plan: str) -> rc.RateLimit:
    """The virtual host's descriptor: which plan's bucket, and whose."""
    if plan not in PLANS:
        plan = DEFAULT_PLAN
    return rc.RateLimit(
        actions=[
            rc.RateLimit.Action(
                generic_key=rc.RateLimit.Action.GenericKey(
                    descriptor_key=PLAN_KEY, descriptor_value=plan
                )
            ),
            rc.RateLimit.Action(
                generic_key=rc.RateLimit.Action.GenericKey(
                    descriptor_key=STORE_KEY, descriptor_value=str(store_id)
                )
            ),
        ]
    )
