"""The platform a benchmark measures: its own database (and RabbitMQ virtual host, and mail
sink), everything it started stopped and dropped afterwards, whatever happened."""

from __future__ import annotations

import logging
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from devstack.amqp import create_vhost, delete_vhost, ensure_rabbitmq, with_vhost
from devstack.dsn import with_database
from devstack.infra import ensure_postgres, ensure_redis, free_port
from devstack.mail_sink import start_mail_sink
from devstack.migrate import drop_database, migrate
from devstack.stack import STATE_DIR, Stack

# The processes a benchmark may start, in start-up order (Envoy last: it waits for its routes
# from the Store service). A benchmark starts only what it talks to.
EVERYTHING = ("store", "catalog", "stripe", "checkout", "relay", "consumers", "envoy")
SHOPFRONT = ("store", "catalog", "envoy")
EVENTS = ("relay", "consumers")

# Tiny runs: checkouts that a load generator cuts off at the end of a run wait for the
# recovery worker, which takes them over once their lease runs out (a tiny run cannot wait the
# full 30 s); and smaller pools, as PostgreSQL's connection slots are shared with whatever else
# runs (the test suite's own platform, say).
SMOKE_ENV = {"CHECKOUT_LEASE_SECONDS": "3", "DB_POOL_SIZE": "4"}


def setup(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)


def admin_db(stack: Stack) -> str:
    """The superuser's DSN for the stack's database."""
    return with_database(stack.pg_admin_dsn, stack.database)


def start_services(stack: Stack, services: tuple[str, ...]) -> None:
    """Starts them in EVERYTHING's order; the database must be migrated."""
    for name in EVERYTHING:
        if name not in services:
            continue
        if name == "stripe":
            stack.start_stripe_emulator()
        elif name == "relay":
            stack.start_service("relay", "services.events.relay")
        elif name == "consumers":
            stack.start_events_consumers()
        elif name == "envoy":
            stack.start_envoy()
        else:
            stack.start_service(name)


@contextmanager
def bench_stack(
    name: str,
    services: tuple[str, ...],
    *,
    mail: bool = False,
    start: bool = True,
    envoy_concurrency: int = 1,
    smoke: bool = False,
    edge_cache: bool = False,
    env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """A stack of `services` on a fresh database `shop_bench_<name>_<random>`, with a RabbitMQ
    virtual host of its own if the relay or the consumers run; mail: an SMTP sink they send
    to. start=False yields it migrated but not started, for seeding before the services load
    it (then start_services()). edge_cache: the storefront marks its reads cacheable (the
    production setting); off otherwise, so a benchmark of the services measures them, not
    Envoy's cache. env: more settings for every service."""
    admin_dsn = ensure_postgres(STATE_DIR)
    database = f"shop_bench_{name}_{uuid.uuid4().hex[:6]}"
    with ExitStack() as cleanup:
        amqp_url = None
        if {"relay", "consumers"} & set(services):
            vhost = f"bench_{name}_{uuid.uuid4().hex[:6]}"
            amqp_url = ensure_rabbitmq()
            if create_vhost(vhost):
                amqp_url = with_vhost(amqp_url, vhost)
                cleanup.callback(delete_vhost, vhost)
        smtp_port = 1025
        if mail:
            folder = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="bench-mail-"))
            sink = start_mail_sink(Path(folder), free_port())
            cleanup.callback(sink.stop)
            smtp_port = sink.port
        stack = Stack(
            pg_admin_dsn=admin_dsn,
            redis_url=ensure_redis(STATE_DIR / "redis"),
            database=database,
            amqp_url=amqp_url,
            smtp_port=smtp_port,
            envoy_concurrency=envoy_concurrency,
            log_level="WARNING",
            run_dir=STATE_DIR / f"bench-{name}",
            extra_env={
                **(SMOKE_ENV if smoke else {}),
                "STOREFRONT_CACHE_SECONDS": "1" if edge_cache else "0",
                **(env or {}),
            },
        )
        cleanup.callback(drop_database, admin_dsn, database)
        cleanup.callback(stack.stop)
        migrate(admin_dsn, database)
        if start:
            start_services(stack, services)
        yield stack
