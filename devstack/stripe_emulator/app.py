"""The aiohttp application: API paths, control API, and background upkeep."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from aiohttp import web

from devstack.stripe_emulator import api, control, control_connect, control_money, control_webhooks
from devstack.stripe_emulator.idempotency import DEFAULT_TTL, IdempotencyStore
from devstack.stripe_emulator.search_index import DEFAULT_LAG_SECONDS, SearchIndex
from devstack.stripe_emulator.webhooks import Webhooks
from devstack.stripe_emulator.world import World

PRUNE_EVERY_SECONDS = 60.0


@dataclass
class Settings:
    webhook_urls: Sequence[str] = ()
    webhook_secret: str | None = None
    webhook_attempts: int = 3
    idempotency_ttl: float = DEFAULT_TTL
    webhook_events: list[str] = field(default_factory=lambda: ["*"])
    webhook_host: str | None = None
    # Endpoints for connected accounts' events (Stripe's `connect: true`), with their own secret.
    connect_webhook_urls: Sequence[str] = ()
    connect_webhook_secret: str | None = None
    search_lag: float = DEFAULT_LAG_SECONDS


def build_app(settings: Settings | None = None) -> web.Application:
    settings = settings or Settings()
    world = World(
        idempotency=IdempotencyStore(settings.idempotency_ttl),
        webhooks=Webhooks(attempts=settings.webhook_attempts),
        search=SearchIndex(settings.search_lag),
    )
    for url in settings.webhook_urls:
        world.webhooks.add_endpoint(
            url, settings.webhook_secret, settings.webhook_events, settings.webhook_host
        )
    for url in settings.connect_webhook_urls:
        world.webhooks.add_endpoint(
            url,
            settings.connect_webhook_secret,
            settings.webhook_events,
            settings.webhook_host,
            connect=True,
        )
    app = web.Application(client_max_size=1024**2, middlewares=[_settle])
    app[api.WORLD] = world
    app.add_routes(control.routes)
    app.add_routes(control_webhooks.routes)
    app.add_routes(control_connect.routes)
    app.add_routes(control_money.routes)
    app.router.add_route("*", "/v1/{tail:.*}", api.handle)
    app.cleanup_ctx.append(_upkeep)
    return app


@web.middleware
async def _settle(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    """Control calls change objects too: the search index must see those changes as well."""
    try:
        return await handler(request)
    finally:
        request.app[api.WORLD].settle()


async def _upkeep(app: web.Application) -> AsyncIterator[None]:
    world = app[api.WORLD]

    async def prune() -> None:
        while True:
            await asyncio.sleep(PRUNE_EVERY_SECONDS)
            world.idempotency.prune()

    task = asyncio.create_task(prune())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await world.webhooks.close()
