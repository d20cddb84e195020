"""Configuration of the relay and consumer processes, from environment variables."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.config import env, env_float, env_int


@dataclass(frozen=True)
class EventsConfig:
    amqp_url: str
    # The relay's own role: reads and marks outbox rows of every store, nothing else.
    relay_database_url: str
    # The webhook worker's cross-store role: may only claim due deliveries.
    worker_database_url: str
    smtp_host: str
    smtp_port: int
    mail_from: str
    platform_domain: str
    # Webhook retries: delays double from the base (with jitter) until the budget is spent.
    webhook_retry_base: float
    webhook_retry_budget: float
    webhook_timeout: float
    consumer_prefetch: int
    # How the relay learns of new outbox rows: "notify" (LISTEN outbox; the insert trigger
    # notifies at commit, plain PostgreSQL) or "poll" (no trigger: on Citus the outbox is
    # distributed, its trigger would NOTIFY on a worker, inside a prepared transaction, and the
    # relay listens on the coordinator). Either way it also polls every relay_poll_interval.
    relay_wake: str
    relay_poll_interval: float

    @classmethod
    def from_env(cls) -> EventsConfig:
        return cls(
            amqp_url=env("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
            relay_database_url=env(
                "RELAY_DATABASE_URL", "postgresql://shop_relay@127.0.0.1:5432/shop"
            ),
            worker_database_url=env(
                "WORKER_DATABASE_URL", "postgresql://shop_worker@127.0.0.1:5432/shop"
            ),
            smtp_host=env("SMTP_HOST", "127.0.0.1"),
            smtp_port=env_int("SMTP_PORT", 1025),
            mail_from=env("MAIL_FROM", "orders@myshop.localhost"),
            platform_domain=env("PLATFORM_DOMAIN", "myshop.localhost"),
            webhook_retry_base=env_float("WEBHOOK_RETRY_BASE_SECONDS", 15.0),
            webhook_retry_budget=env_float("WEBHOOK_RETRY_BUDGET_SECONDS", 4 * 3600.0),
            webhook_timeout=env_float("WEBHOOK_TIMEOUT_SECONDS", 5.0),
            consumer_prefetch=env_int("CONSUMER_PREFETCH", 32),
            relay_wake=_wake(env("OUTBOX_WAKE", "notify")),
            relay_poll_interval=env_float("OUTBOX_POLL_SECONDS", 2.0),
        )


def _wake(value: str) -> str:
    if value not in ("notify", "poll"):
        raise ValueError(f"OUTBOX_WAKE must be notify or poll, not {value!r}")
    return value
