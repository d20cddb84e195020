"""Runs the consumers (email, webhooks, inventory alerts, sales analytics) and the webhook
delivery worker. `--only email,webhook` limits the process to some of them (one Deployment
each in production if they need to scale apart). Run: python -m services.events.consumers"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

import aio_pika

from services.common.config import Config
from services.common.db import create_pool
from services.common.server import App, run
from services.events import topology
from services.events.config import EventsConfig
from services.events.consumers.base import Consumer, consume
from services.events.consumers.email import EmailConsumer
from services.events.consumers.inventory_alerts import InventoryAlertsConsumer
from services.events.consumers.sales import SalesConsumer
from services.events.consumers.webhooks import WebhookConsumer, WebhookDeliveryWorker

log = logging.getLogger(__name__)
ALL = ("email", "webhook", "inventory_alerts", "sales")


async def supervise(amqp_url: str, prefetch: int, pool, consumers: list[Consumer]) -> None:
    """Keeps the consumers attached: connect, declare, consume, wait for the connection to die,
    start over. Unacked messages of a dead connection are redelivered by RabbitMQ."""
    backoff = 0.5
    while True:
        connection = None
        try:
            async with asyncio.timeout(10):
                connection = await aio_pika.connect(amqp_url)
                channel = await connection.channel()
                await channel.set_qos(prefetch_count=prefetch)
                await topology.declare(channel)
                for consumer in consumers:
                    await consume(channel, pool, consumer)
            backoff = 0.5
            # aio-pika's plain Connection does not notice a broker-side close; the channel does.
            while not channel.is_closed:  # noqa: ASYNC110 (no event to wait on, see above)
                await asyncio.sleep(0.5)
            log.warning("broker connection closed; reconnecting")
            with contextlib.suppress(Exception):
                await connection.close()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is None or task.cancelling():
                if connection is not None:
                    await connection.close()
                raise
            # Not our cancellation: aiormq cancels its futures when the broker drops us.
            log.warning("broker connection lost; reconnecting")
            await asyncio.sleep(backoff)
        except Exception as exc:
            log.warning("consumers cannot attach (%s); retrying in %.1fs", exc, backoff)
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.close()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5)


def build_app(only: tuple[str, ...]):
    def build(config) -> App:
        events = EventsConfig.from_env()
        state: dict = {}

        async def startup() -> None:
            state["pool"] = await create_pool(config.database_url, config.db_pool_size)
            state["worker_pool"] = await create_pool(events.worker_database_url, 2)
            worker = WebhookDeliveryWorker(state["pool"], state["worker_pool"], events)
            consumers: list[Consumer] = []
            if "email" in only:
                consumers += [
                    EmailConsumer(events),
                    EmailConsumer(events, "payouts.email"),
                    EmailConsumer(events, "store.email"),
                    EmailConsumer(events, "customers.email"),
                ]
            if "webhook" in only:
                consumers += [
                    WebhookConsumer("orders.webhook", worker),
                    WebhookConsumer("inventory.webhook", worker),
                    WebhookConsumer("payouts.webhook", worker),
                    WebhookConsumer("store.webhook", worker),
                    WebhookConsumer("customers.webhook", worker),
                ]
                await worker.start()
                state["worker"] = worker
            if "inventory_alerts" in only:
                consumers.append(InventoryAlertsConsumer())
            if "sales" in only:
                consumers.append(SalesConsumer())
            state["supervisor"] = asyncio.create_task(
                supervise(events.amqp_url, events.consumer_prefetch, state["pool"], consumers)
            )

        async def shutdown() -> None:
            state["supervisor"].cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await state["supervisor"]
            if "worker" in state:
                await state["worker"].stop()
            await state["worker_pool"].close()
            await state["pool"].close()

        return App(
            config=config, register=lambda server: [], on_startup=[startup], on_shutdown=[shutdown]
        )

    return build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default=",".join(ALL))
    args = parser.parse_args()
    only = tuple(x.strip() for x in args.only.split(",") if x.strip())
    unknown = set(only) - set(ALL)
    if unknown:
        parser.error(f"unknown consumers {sorted(unknown)}; choose from {ALL}")
    run(build_app(only), Config.from_env("consumers"))


if __name__ == "__main__":
    main()
