"""The server skeleton every service runs: grpc.aio on uvloop, health, reflection, the shared
interceptors, telemetry (JSON logs, Prometheus metrics, OpenTelemetry traces when configured),
and a graceful drain on SIGTERM/SIGINT."""

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

from services.common import limits, telemetry
from services.common.config import Config
from services.common.edge_trust import EdgeOnlyInterceptor, EdgeTrust
from services.common.logging_config import configure_logging as configure_json_logging
from services.common.metrics import start_metrics_server
from services.common.status import ErrorInterceptor
from services.common.telemetry_interceptor import TelemetryInterceptor
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
    # Services only Envoy may call (xDS, ext_authz): any other peer is UNAUTHENTICATED.
    edge_only: Sequence[str] = ()
    # Described by reflection though served by another process: the Store service describes
    # the whole public API, so grpcurl through Envoy (reflection routes to it) sees every service.
    reflected: Sequence[str] = ()
    on_startup: list[Hook] = field(default_factory=list)
    on_shutdown: list[Hook] = field(default_factory=list)


_SERVER_OPTIONS = [
    # grpc sets SO_REUSEPORT by default, which lets a second server bind a busy port
    # silently; we want the error.
    ("grpc.so_reuseport", 0),
    # Aligned with Envoy's limits (services/common/limits.py). Sending stays unbounded: the
    # xDS stream to Envoy carries route configurations far larger than any request.
    ("grpc.max_receive_message_length", limits.MAX_MESSAGE_BYTES),
    ("grpc.max_metadata_size", limits.MAX_METADATA_BYTES),
    ("grpc.absolute_max_metadata_size", limits.MAX_METADATA_BYTES),
]


def _host(address: str) -> str:
    """An IPv6 address in brackets, as grpc's "host:port" wants it."""
    return f"[{address}]" if ":" in address and not address.startswith("[") else address


def _health_only_server(servicer: health.aio.HealthServicer, cfg: Config) -> grpc.aio.Server:
    """grpc.health.v1 alone, in plaintext, on its own port: kubelet's native gRPC probes cannot
    present a client certificate. It answers the same servicer (so a drain shows NOT_SERVING
    here too) and serves nothing else — no reflection, no API, no store."""
    server = grpc.aio.server(options=_SERVER_OPTIONS)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port(f"{_host(cfg.bind_address)}:{cfg.health_port}")
    return server


def configure_logging(config: Config) -> None:
    configure_json_logging(config.service, config.log_level)


async def serve(app: App, *, ready: asyncio.Event | None = None) -> None:
    cfg = app.config
    for hook in app.on_startup:
        await hook()
    metrics_server = start_metrics_server(cfg.metrics_port, cfg.bind_address)
    trust = EdgeTrust(cfg.edge_identity if cfg.tls else None)
    if cfg.tls is None:
        log.warning(
            "no TLS configured (TLS_CERT_FILE, TLS_KEY_FILE, TLS_CA_FILE): serving plaintext,"
            " and every call that needs a store is refused"
        )
    server = grpc.aio.server(
        # Outermost first: the trace span (when tracing is on) wraps the metrics and the request
        # log, which see the status the error mapping produced.
        interceptors=[
            *telemetry.server_interceptors(),
            TelemetryInterceptor(log_requests=cfg.log_requests),
            ErrorInterceptor(),
            EdgeOnlyInterceptor(app.edge_only, trust),
            TenantInterceptor((*app.tenant_exempt, *_INFRA_SERVICES), trust),
        ],
        options=_SERVER_OPTIONS,
    )
    names = list(app.register(server))
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    described = dict.fromkeys(
        [*names, *app.reflected, health.SERVICE_NAME, reflection.SERVICE_NAME]
    )
    reflection.enable_server_reflection(list(described), server)
    address = f"{_host(cfg.bind_address)}:{cfg.grpc_port}"
    if cfg.tls is None:
        server.add_insecure_port(address)
    else:
        chain, key, client_ca = cfg.tls.read()
        credentials = grpc.ssl_server_credentials(
            [(key, chain)], root_certificates=client_ca, require_client_auth=True
        )
        server.add_secure_port(address, credentials)
    health_server = _health_only_server(health_servicer, cfg) if cfg.health_port else None
    await server.start()
    if health_server is not None:
        await health_server.start()
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
    if health_server is not None:
        await health_server.stop(0)
    for hook in reversed(app.on_shutdown):
        try:
            await hook()
        except Exception:
            log.exception("shutdown hook failed")
    if metrics_server is not None:
        metrics_server.shutdown()
    telemetry.shutdown_tracing()
    log.info("stopped")


def run(build: Callable[[Config], App], config: Config) -> None:
    """Entry point of a service process."""
    configure_logging(config)
    # Before build(): the asyncpg instrumentation must be in place before pools exist.
    telemetry.setup_tracing(config.service)
    uvloop.run(serve(build(config)))
