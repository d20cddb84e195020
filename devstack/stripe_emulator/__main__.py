"""Local Stripe-API emulator:
`python -m devstack.stripe_emulator --port 12111 [--webhook-url URL --webhook-secret whsec_...]`"""

from __future__ import annotations

import argparse
import logging

import uvloop
from aiohttp import web

from devstack.stripe_emulator.app import Settings, build_app
from devstack.stripe_emulator.idempotency import DEFAULT_TTL
from devstack.stripe_emulator.search_index import DEFAULT_LAG_SECONDS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.stripe_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument(
        "--webhook-url", action="append", default=[], help="endpoint for every event (repeatable)"
    )
    parser.add_argument("--webhook-secret", help="signing secret of those endpoints (whsec_...)")
    parser.add_argument(
        "--webhook-host", help="Host header for those endpoints (a virtual host behind Envoy)"
    )
    parser.add_argument(
        "--connect-webhook-url",
        action="append",
        default=[],
        help="endpoint for connected accounts' events, Stripe's connect=true (repeatable)",
    )
    parser.add_argument(
        "--connect-webhook-secret", help="signing secret of the Connect endpoints (whsec_...)"
    )
    parser.add_argument(
        "--search-lag",
        type=float,
        default=DEFAULT_LAG_SECONDS,
        help="seconds before a change is visible to search (Stripe: up to a minute, an hour in "
        "outages); 0 makes search immediate",
    )
    parser.add_argument(
        "--webhook-event",
        action="append",
        default=[],
        help="event type those endpoints receive (repeatable; default every type)",
    )
    parser.add_argument("--webhook-attempts", type=int, default=3)
    parser.add_argument(
        "--idempotency-ttl", type=float, default=DEFAULT_TTL, help="seconds a key is kept"
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    settings = Settings(
        webhook_urls=args.webhook_url,
        webhook_secret=args.webhook_secret,
        webhook_host=args.webhook_host,
        webhook_attempts=args.webhook_attempts,
        webhook_events=args.webhook_event or ["*"],
        idempotency_ttl=args.idempotency_ttl,
        connect_webhook_urls=args.connect_webhook_url,
        connect_webhook_secret=args.connect_webhook_secret,
        search_lag=args.search_lag,
    )
    # uvloop: checkout benchmarks share two cores with this process, so its CPU per request counts.
    # No access log: a benchmark's thousands of lines would cost more than the emulator itself.
    web.run_app(
        build_app(settings),
        host=args.host,
        port=args.port,
        access_log=None,
        print=None,
        loop=uvloop.new_event_loop(),
    )


if __name__ == "__main__":
    main()
