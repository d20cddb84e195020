"""Fixtures shared by every level: the real platform (PostgreSQL, Redis, services, Envoy) on
free ports and a database of its own, started once per test session. A test that talks only to
PostgreSQL asks for `database` (migrated, nothing started) instead of `stack`, so running it
alone starts no service and no Envoy."""

from __future__ import annotations

import logging
import random
import uuid
from pathlib import Path

import hypothesis
import pytest

from devstack.amqp import create_vhost, delete_vhost, ensure_rabbitmq, with_vhost
from devstack.infra import ensure_postgres, ensure_redis, free_port
from devstack.migrate import drop_database, migrate
from devstack.stack import STATE_DIR, Stack
from tests.support.dns_server import DnsServer
from tests.support.smtp_server import SmtpServer
from tests.support.webhook_receiver import WebhookReceiver

logging.getLogger("httpx").setLevel(logging.WARNING)

# Property tests assert behaviour, never speed: Hypothesis' per-example deadline (200 ms) is a
# timing assertion that fails on a loaded machine, so it is off for the whole suite.
hypothesis.settings.register_profile("suite", deadline=None)
hypothesis.settings.load_profile("suite")


@pytest.fixture(scope="session")
def pg_admin_dsn() -> str:
    return ensure_postgres(STATE_DIR)


@pytest.fixture(scope="session")
def redis_url() -> str:
    return ensure_redis(STATE_DIR / "redis")


@pytest.fixture(scope="session")
def amqp_url():
    """A RabbitMQ virtual host of this session's own."""
    base = ensure_rabbitmq()
    vhost = f"shop_test_{uuid.uuid4().hex[:8]}"
    if not create_vhost(vhost):
        yield base
        return
    yield with_vhost(base, vhost)
    delete_vhost(vhost)


@pytest.fixture(scope="session")
def smtp_server():
    server = SmtpServer(free_port()).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def webhook_receiver():
    receiver = WebhookReceiver(free_port()).start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def dns_server():
    """Authoritative for every name the tests give it; the Store service asks it for TXT
    records (custom-domain verification)."""
    server = DnsServer().start()
    yield server
    server.stop()


# Short DNS timeout and re-check period so the domain tests take seconds, not hours.
DOMAIN_TEST_ENV = {
    "DNS_TIMEOUT_SECONDS": "1",
    "DOMAIN_RECHECK_INTERVAL_SECONDS": "0.3",
    "DOMAIN_RECHECK_GRACE_SECONDS": "1.5",
}
# A closed store's grace period in seconds instead of 30 days, the erase job every half second,
# small batches (so a test store's rows take several), and shop/redact waited for 20 s at most.
CLOSE_GRACE_SECONDS = 4.0
LIFECYCLE_TEST_ENV = {
    "STORE_CLOSE_GRACE_SECONDS": str(CLOSE_GRACE_SECONDS),
    "STORE_ERASE_INTERVAL_SECONDS": "0.5",
    "STORE_ERASE_BATCH_ROWS": "3",
    "STORE_ERASE_REDACT_WAIT_SECONDS": "20",
}


@pytest.fixture(scope="session")
def database(
    pg_admin_dsn: str,
    redis_url: str,
    amqp_url: str,
    smtp_server: SmtpServer,
    webhook_receiver: WebhookReceiver,
    dns_server: DnsServer,
    tmp_path_factory: pytest.TempPathFactory,
):
    database = f"shop_test_{uuid.uuid4().hex[:8]}"
    run_dir: Path = tmp_path_factory.mktemp("stack")
    platform = Stack(
        pg_admin_dsn=pg_admin_dsn,
        redis_url=redis_url,
        database=database,
        run_dir=run_dir,
        envoy_concurrency=1,
        amqp_url=amqp_url,
        smtp_port=smtp_server.port,
        # The receiver is on loopback: allowed explicitly, everything else stays refused.
        webhook_allowed_targets=f"127.0.0.1:{webhook_receiver.port}",
        webhook_retry_base=0.2,
        # Random and large: this session's store ids never meet another session's in the
        # shared Redis (the erase job deletes a store's keys by pattern).
        first_store_id=random.randrange(10**9, 10**12),
        extra_env={
            "DNS_NAMESERVER": dns_server.address,
            **DOMAIN_TEST_ENV,
            **LIFECYCLE_TEST_ENV,
            # Short enough that crash-recovery tests see the recovery worker take over.
            "CHECKOUT_LEASE_SECONDS": "3",
            # Tests read what they just wrote: the storefront marks nothing cacheable, so the
            # edge cache stores nothing (tests/e2e/test_edge_cache.py turns it on).
            "STOREFRONT_CACHE_SECONDS": "0",
            "STRIPE_TIMEOUT_SECONDS": "2",
            # The relay's retention reaper passes once at start, then not within a session:
            # tests drive their own reaper and count what it deleted.
            "RETENTION_INTERVAL_SECONDS": "86400",
        },
    )
    try:
        migrate(pg_admin_dsn, database)
        yield platform
    finally:
        platform.stop()
        drop_database(pg_admin_dsn, database)


@pytest.fixture(scope="session")
def stack(database: Stack) -> Stack:
    """The platform running on `database`: services, workers and Envoy."""
    return database.start()
