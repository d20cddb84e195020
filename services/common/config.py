"""Process configuration from environment variables, with local-development defaults.

One style for every process: a frozen dataclass per concern with a `from_env()` classmethod
that reads its variables through the helpers below (so a blank variable means "default" and a
malformed one stops the process with a message naming it, everywhere alike)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from services.common.identities import EDGE_IDENTITY


def env(name: str, default: str) -> str:
    """The variable's value, or the default when it is unset or blank."""
    value = os.environ.get(name, "").strip()
    return value or default


N = TypeVar("N", int, float)


def _number(name: str, default: N, kind: Callable[[str], N]) -> N:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError as exc:
        wanted = getattr(kind, "__name__", "number")
        raise SystemExit(f"configuration error: {name}={raw!r} is not a {wanted}") from exc


def env_int(name: str, default: int) -> int:
    return _number(name, default, int)


def env_float(name: str, default: float) -> float:
    return _number(name, default, float)


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SystemExit(f"configuration error: {name}={raw!r} is not one of {_TRUE + _FALSE}")


def env_list(name: str) -> list[str]:
    """A comma-separated variable as its non-blank items."""
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of a server that requires client certificates (mutual TLS)."""

    cert_file: str
    key_file: str
    # The CA whose certificates clients must present.
    ca_file: str

    @classmethod
    def from_env(cls) -> TlsFiles | None:
        """None when none of TLS_CERT_FILE, TLS_KEY_FILE, TLS_CA_FILE is set; all three or
        none."""
        names = ("TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CA_FILE")
        values = [env(name, "") for name in names]
        if not any(values):
            return None
        missing = [name for name, value in zip(names, values, strict=True) if not value]
        if missing:
            raise SystemExit(f"configuration error: {', '.join(missing)} must be set as well")
        return cls(*values)

    def read(self) -> tuple[bytes, bytes, bytes]:
        """(certificate chain, private key, client CA), read at start-up."""
        with open(self.cert_file, "rb") as c, open(self.key_file, "rb") as k:
            chain, key = c.read(), k.read()
        with open(self.ca_file, "rb") as ca:
            return chain, key, ca.read()


@dataclass(frozen=True)
class Config:
    service: str
    grpc_port: int
    # Tenant data, as the shop_app role (RLS applies).
    database_url: str
    # Cross-store control-plane and auth reads, as the shop_control role (Store service only).
    control_database_url: str
    redis_url: str
    platform_domain: str
    db_pool_size: int
    # Seconds in-flight calls get to finish after SIGTERM.
    shutdown_grace: float
    log_level: str
    # Prometheus /metrics on its own port; 0 turns it off.
    metrics_port: int = 0
    # One JSON log line per gRPC call (method, status, duration, store, trace).
    log_requests: bool = True
    # Interface the gRPC, metrics and health ports listen on: loopback locally; the pod's
    # address in Kubernetes (BIND_ADDRESS from status.podIP).
    bind_address: str = "127.0.0.1"
    # Mutual TLS on the gRPC port (Envoy and operators present certificates of one CA); None:
    # plaintext, and no caller is trusted to name a store.
    tls: TlsFiles | None = None
    # The client certificate identity (URI SAN) whose x-store-id is trusted: Envoy's.
    edge_identity: str = EDGE_IDENTITY
    # A plaintext port serving only grpc.health.v1, for probes that cannot present a
    # certificate (kubelet's native gRPC probes); 0 turns it off.
    health_port: int = 0

    @property
    def platform_host(self) -> str:
        """Host serving the public platform API (signup)."""
        return f"api.{self.platform_domain}"

    @classmethod
    def from_env(cls, service: str) -> Config:
        return cls(
            service=service,
            grpc_port=env_int("GRPC_PORT", DEFAULT_PORTS.get(service, 50050)),
            database_url=env("DATABASE_URL", "postgresql://shop_app@127.0.0.1:5432/shop"),
            control_database_url=env(
                "CONTROL_DATABASE_URL", "postgresql://shop_control@127.0.0.1:5432/shop"
            ),
            redis_url=env("REDIS_URL", "redis://127.0.0.1:6379/0"),
            platform_domain=env("PLATFORM_DOMAIN", "myshop.localhost").lower().rstrip("."),
            db_pool_size=env_int("DB_POOL_SIZE", 10),
            shutdown_grace=env_float("SHUTDOWN_GRACE_SECONDS", 10.0),
            log_level=env("LOG_LEVEL", "INFO").upper(),
            # Default: 9 followed by the last three digits of the default gRPC port (9051).
            metrics_port=env_int("METRICS_PORT", 9000 + DEFAULT_PORTS.get(service, 50050) % 1000),
            log_requests=env_bool("LOG_REQUESTS", True),
            bind_address=env("BIND_ADDRESS", "127.0.0.1"),
            tls=TlsFiles.from_env(),
            edge_identity=env("EDGE_IDENTITY", EDGE_IDENTITY),
            health_port=env_int("HEALTH_PORT", 0),
        )


DEFAULT_PORTS = {
    "store": 50051,
    "catalog": 50052,
    "checkout": 50053,
    "relay": 50054,
    "consumers": 50055,
}
