"""The server skeleton every service runs: grpc.aio on uvloop, health, reflection, the shared
interceptors, and a graceful drain on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import grpc
import uvloop
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.common.config import Config
from services.common.status import ErrorInterceptor
from services.common.tenancy import TenantInterceptor

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]

# Always reachable without a store: probes and grpcurl.
_INFRA_SERVICES = (
    health.SERVICE_NAME,
    reflection.SERVICE_NAME,
    "grpc.reflection.v1.ServerReflection",
)


@dataclass
class App:
    """What a service plugs into the skeleton; built by each service's bootstrap."""

    config: Config
    # Registers servicers on the server and returns the full names of the services it added.
    register: Callable[[grpc.aio.Server], Sequence[str]]
    # Services callable without `x-store-id` (public platform API, Envoy-facing services).
    tenant_exempt: Sequence[str] = ()
    on_startup: list[Hook] = field(default_factory=list)
    on_shutdown: list[Hook] = field(default_factory=list)


def configure_logging(config: Config) -> None:
    logging.basicConfig(
        level=config.log_level,
        format=f"%(asctime)s {config.service} %(levelname)s %(name)s: %(message)s",
    )


async def serve(app: App, *, ready: asyncio.Event | None = None) -> None:
    cfg = app.config
    for hook in app.on_startup:
        await hook()
    server = grpc.aio.server(
        interceptors=[
            ErrorInterceptor(),
            TenantInterceptor((*app.tenant_exempt, *_INFRA_SERVICES)),
        ],
        options=[
            # grpc sets SO_REUSEPORT by default, which lets a second server bind a busy port
            # silently; we want the error.
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", 8 * 1024 * 1024),
        ],
    )
    names = list(app.register(server))
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )
    address = f"0.0.0.0:{cfg.grpc_port}"
    server.add_insecure_port(address)
    await server.start()
    for name in ["", *names]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("%s serving on %s", cfg.service, address)
    if ready is not None:
        ready.set()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()

    log.info("draining for up to %.0fs", cfg.shutdown_grace)
    # NOT_SERVING first so load balancers stop sending; then finish in-flight calls.
    await health_servicer.enter_graceful_shutdown()
    await server.stop(cfg.shutdown_grace)
    for hook in reversed(app.on_shutdown):
        try:
            await hook()
        except Exception:
            log.exception("shutdown hook failed")
    log.info("stopped")


def run(build: Callable[[Config], App], config: Config) -> None:
    """Entry point of a service process."""
    configure_logging(config)
    uvloop.run(serve(build(config)))
