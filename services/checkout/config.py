"""Settings only the Checkout service reads (Stripe, carts, leases), from environment variables
with local defaults. The shared ones are in services.common.config."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.config import env, env_float, env_int


@dataclass(frozen=True)
class CheckoutSettings:
    stripe_api_key: str
    # The Stripe API base; the local emulator in tests and `make run`.
    stripe_api_base: str
    stripe_webhook_secret: str
    stripe_timeout: float
    cart_ttl_seconds: int
    # How long a checkout may run before the recovery worker takes it over.
    lease_seconds: int
    # How long a 3-D Secure challenge may wait before the reservation is released.
    requires_action_seconds: int
    worker_database_url: str
    # How long an unknown outcome waits before it is asked again (a refund the provider did
    # not answer, for example).
    retry_seconds: float = 5.0
    # Connected accounts' events (payments on stores' accounts) come to their own endpoint,
    # signed with its own secret.
    stripe_connect_webhook_secret: str = "whsec_local_connect"

    @classmethod
    def from_env(cls) -> CheckoutSettings:
        return cls(
            stripe_api_key=env("STRIPE_API_KEY", "sk_test_local"),
            stripe_api_base=env("STRIPE_API_BASE", "http://127.0.0.1:12111"),
            stripe_webhook_secret=env("STRIPE_WEBHOOK_SECRET", "whsec_local"),
            stripe_timeout=env_float("STRIPE_TIMEOUT_SECONDS", 10.0),
            cart_ttl_seconds=env_int("CART_TTL_SECONDS", 14 * 24 * 3600),
            lease_seconds=env_int("CHECKOUT_LEASE_SECONDS", 30),
            requires_action_seconds=env_int("REQUIRES_ACTION_SECONDS", 1800),
            worker_database_url=env(
                "WORKER_DATABASE_URL", "postgresql://shop_worker@127.0.0.1:5432/shop"
            ),
            retry_seconds=env_float("CHECKOUT_RETRY_SECONDS", 5.0),
            stripe_connect_webhook_secret=env(
                "STRIPE_CONNECT_WEBHOOK_SECRET", "whsec_local_connect"
            ),
        )
