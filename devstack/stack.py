"""The whole platform as local processes: migrated database, Store and Catalog services, Envoy."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import grpc
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc

from devstack import envoy_config
from devstack.dsn import (
    APP_ROLE,
    CONTROL_ROLE,
    ERASER_ROLE,
    OPS_ROLE,
    OWNER_ROLE,
    REAPER_ROLE,
    RELAY_ROLE,
    WORKER_ROLE,
    with_database,
    with_user,
)
from devstack.infra import free_port
from devstack.migrate import migrate
from devstack.pki import SERVICES as MESH_SERVICES
from devstack.pki import MeshFiles, ensure_mesh
from services.checkout.payments.event_types import HANDLED_EVENT_TYPES

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = ROOT / ".run"
log = logging.getLogger(__name__)


@dataclass
class Ports:
    edge: int = field(default_factory=free_port)
    envoy_admin: int = field(default_factory=free_port)
    store: int = field(default_factory=free_port)
    catalog: int = field(default_factory=free_port)
    checkout: int = field(default_factory=free_port)
    stripe: int = field(default_factory=free_port)
    relay: int = field(default_factory=free_port)
    consumers: int = field(default_factory=free_port)


@dataclass
class Stack:
    pg_admin_dsn: str
    redis_url: str
    database: str
    ports: Ports = field(default_factory=Ports)
    platform_domain: str = "myshop.localhost"
    run_dir: Path = STATE_DIR
    envoy_concurrency: int = 2
    log_level: str = "INFO"
    # With a broker: the outbox relay and the consumers run too.
    amqp_url: str | None = None
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    # Webhook receivers allowed despite resolving to loopback (tests); "host:port,...".
    webhook_allowed_targets: str = ""
    webhook_retry_base: float = 15.0
    # Stripe API base the checkout talks to (the local emulator unless given).
    stripe_api_base: str | None = None
    stripe_webhook_secret: str = "whsec_local_test_secret"
    stripe_connect_webhook_secret: str = "whsec_local_connect_secret"
    # OTLP/gRPC collector ("host:port") that Envoy and the services export traces to; None keeps
    # tracing off everywhere (OTEL_EXPORTER_OTLP_*ENDPOINT inherited from the shell is dropped).
    otlp_endpoint: str | None = None
    # Added last to every service's environment (e.g. OTEL_BSP_SCHEDULE_DELAY, LOG_REQUESTS).
    extra_env: dict[str, str] = field(default_factory=dict)
    # First store id (tests: a random large one, so store-keyed Redis keys such as carts never
    # collide with another test database's stores sharing the same Redis).
    first_store_id: int | None = None
    # Prometheus port of each process this stack started ("catalog" → port).
    metrics_ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @cached_property
    def mesh(self) -> MeshFiles:
        """The mutual-TLS certificates between Envoy and the services (made on first use)."""
        return ensure_mesh(self.run_dir / "pki")

    @property
    def storefront_ca_dir(self) -> Path:
        """The local CA that signs custom domains' certificates (made by the Store service)."""
        return self.run_dir / "storefront-ca"

    @cached_property
    def certificate_sealing_key(self) -> str:
        """The Fernet key the Store service seals certificates' private keys with, kept
        beside the run's other secrets (owner-only)."""
        path = self.run_dir / "certificate-sealing.key"
        if not path.exists():
            from cryptography.fernet import Fernet

            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_bytes(Fernet.generate_key())
        return path.read_text().strip()

    def credentials(self, identity: str = "operator") -> grpc.ChannelCredentials:
        """Client credentials for a direct call to a service port. "operator" (the default)
        reaches health, reflection and the operator API; "edge" is Envoy's own identity — only
        a test standing in for Envoy uses it."""
        ca, key, chain = self.mesh.client(identity)
        return grpc.ssl_channel_credentials(ca, key, chain)

    def service_target(self, service: str) -> str:
        return f"127.0.0.1:{getattr(self.ports, service)}"

    @property
    def app_dsn(self) -> str:
        return with_user(self.pg_admin_dsn, APP_ROLE, self.database)

    @property
    def owner_dsn(self) -> str:
        return with_user(self.pg_admin_dsn, OWNER_ROLE, self.database)

    @property
    def control_dsn(self) -> str:
        return with_user(self.pg_admin_dsn, CONTROL_ROLE, self.database)

    @property
    def edge_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.edge}"

    @property
    def stripe_url(self) -> str:
        """The Stripe API the checkout talks to (the local emulator unless given)."""
        return self.stripe_api_base or f"http://127.0.0.1:{self.ports.stripe}"

    def admin_fetchval(self, query: str) -> object:
        """One value, read as the server's admin (devstack's own bookkeeping across stores,
        never a service's)."""
        with psycopg.connect(with_database(self.pg_admin_dsn, self.database)) as conn:
            row = conn.execute(query).fetchone()
        return None if row is None else row[0]

    def _start_store_ids_at(self, first: int) -> None:
        with psycopg.connect(with_database(self.pg_admin_dsn, self.database)) as conn:
            if conn.execute("SELECT NOT EXISTS (SELECT 1 FROM stores)").fetchone() == (True,):
                conn.execute(f"ALTER SEQUENCE stores_id_seq RESTART WITH {int(first)}")

    def service_env(self, service: str, port: int) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            GRPC_PORT=str(port),
            DATABASE_URL=self.app_dsn,
            CONTROL_DATABASE_URL=self.control_dsn,
            REDIS_URL=self.redis_url,
            PLATFORM_DOMAIN=self.platform_domain,
            LOG_LEVEL=self.log_level,
            PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "gen")]),
            RELAY_DATABASE_URL=with_user(self.pg_admin_dsn, RELAY_ROLE, self.database),
            WORKER_DATABASE_URL=with_user(self.pg_admin_dsn, WORKER_ROLE, self.database),
            OPS_DATABASE_URL=with_user(self.pg_admin_dsn, OPS_ROLE, self.database),
            ERASER_DATABASE_URL=with_user(self.pg_admin_dsn, ERASER_ROLE, self.database),
            RETENTION_DATABASE_URL=with_user(self.pg_admin_dsn, REAPER_ROLE, self.database),
            SMTP_HOST=self.smtp_host,
            SMTP_PORT=str(self.smtp_port),
            WEBHOOK_ALLOW_HTTP="1",
            WEBHOOK_ALLOWED_TARGETS=self.webhook_allowed_targets,
            WEBHOOK_RETRY_BASE_SECONDS=str(self.webhook_retry_base),
            STRIPE_API_BASE=self.stripe_url,
            STRIPE_API_KEY="sk_test_local",
            STRIPE_WEBHOOK_SECRET=self.stripe_webhook_secret,
            STRIPE_CONNECT_WEBHOOK_SECRET=self.stripe_connect_webhook_secret,
            # Loopback only: nothing but this machine reaches a service port.
            BIND_ADDRESS="127.0.0.1",
            **(self.mesh.server_env(service) if service in MESH_SERVICES else {}),
        )
        if self.amqp_url:
            env["AMQP_URL"] = self.amqp_url
        if service == "store":
            # Certificates of verified custom domains from the local CA (issue 18).
            env.update(
                CERT_ISSUER="local",
                CERT_KEY_ENCRYPTION_KEYS=self.certificate_sealing_key,
                CERT_LOCAL_CA_DIR=str(self.storefront_ca_dir),
            )
        env.update(self._telemetry_env(service, port))
        env.update(self.extra_env)
        return env

    def _telemetry_env(self, service: str, port: int) -> dict[str, str]:
        own = port == getattr(self.ports, service, None)
        metrics_port = self.metrics_ports.get(service) if own else None
        if metrics_port is None:
            # A second process of the same service (tests) gets a port of its own.
            metrics_port = free_port()
            if own:
                self.metrics_ports[service] = metrics_port
        env = {"METRICS_PORT": str(metrics_port)}
        if self.otlp_endpoint:
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://{self.otlp_endpoint}"
            env["OTEL_EXPORTER_OTLP_INSECURE"] = "true"
        else:
            for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
                env[name] = ""
        return env

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        log_file = open(self.run_dir / f"{name}.log", "ab")
        proc = subprocess.Popen(args, env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=ROOT)
        self.procs[name] = proc
        return proc

    def start_service(self, service: str, module: str | None = None) -> None:
        args = [sys.executable, "-m", module or f"services.{service}"]
        for attempt in range(3):
            port = getattr(self.ports, service)
            self._spawn(service, args, self.service_env(service, port))
            try:
                wait_serving(
                    port,
                    self.procs[service],
                    self.run_dir / f"{service}.log",
                    credentials=self.credentials(),
                )
                return
            except RuntimeError as exc:
                # free_port() cannot hold a port for us: another process may take it first.
                if "Failed to bind" not in str(exc) or attempt == 2:
                    raise
                self.procs.pop(service).wait()
                setattr(self.ports, service, free_port())

    def start_stripe_emulator(self) -> None:
        """The local Stripe API (devstack.stripe_emulator); its webhooks go to Envoy's platform
        host, as Stripe's would: platform events to one endpoint, connected accounts' events
        (the stores' payments, onboarding, refunds, disputes, payouts) to the Connect one."""
        edge = f"http://127.0.0.1:{self.ports.edge}"
        args = [
            sys.executable,
            "-m",
            "devstack.stripe_emulator",
            "--port",
            str(self.ports.stripe),
            "--webhook-url",
            f"{edge}/v1/stripe/webhooks",
            "--webhook-secret",
            self.stripe_webhook_secret,
            "--connect-webhook-url",
            f"{edge}/v1/stripe/connect-webhooks",
            "--connect-webhook-secret",
            self.stripe_connect_webhook_secret,
            "--webhook-host",
            f"api.{self.platform_domain}",
            # Subscribed only to what the platform acts on, as its real endpoints are.
            *(arg for kind in HANDLED_EVENT_TYPES for arg in ("--webhook-event", kind)),
        ]
        self._spawn("stripe", args, self.service_env("stripe", self.ports.stripe))
        wait_http(
            f"http://127.0.0.1:{self.ports.stripe}/_emulator/health",
            self.procs["stripe"],
            self.run_dir / "stripe.log",
        )

    def start_events(self) -> None:
        """The outbox relay and the consumers (each may be stopped and restarted by tests)."""
        self.start_service("relay", "services.events.relay")
        self.start_events_consumers()

    def start_events_consumers(self) -> None:
        self.start_service("consumers", "services.events.consumers")

    def start_envoy(self) -> None:
        config = self.run_dir / f"envoy-{self.ports.edge}.yaml"
        config.write_text(
            envoy_config.render(
                listen_port=self.ports.edge,
                admin_port=self.ports.envoy_admin,
                store_port=self.ports.store,
                catalog_port=self.ports.catalog,
                checkout_port=self.ports.checkout,
                otlp_endpoint=self.otlp_endpoint,
                mesh=self.mesh,
            )
        )
        envoy = Path(sys.executable).parent / "envoy"
        self._spawn(
            "envoy",
            [
                str(envoy),
                "-c",
                str(config),
                "--disable-hot-restart",
                "--log-level",
                "warn",
                "--concurrency",
                str(self.envoy_concurrency),
            ],
            dict(os.environ),
        )
        wait_envoy_ready(self.ports.envoy_admin, self.procs["envoy"], self.run_dir / "envoy.log")

    def start(self) -> Stack:
        migrate(self.pg_admin_dsn, self.database)
        if self.first_store_id is not None:
            self._start_store_ids_at(self.first_store_id)
        self.start_service("store")
        self.start_service("catalog")
        if self.stripe_api_base is None:
            self.start_stripe_emulator()
        self.start_service("checkout")
        if self.amqp_url:
            self.start_events()
        self.start_envoy()
        return self

    def stop(self, name: str | None = None, timeout: float = 15) -> None:
        names = [name] if name else list(reversed(self.procs))
        for n in names:
            proc = self.procs.get(n)
            if proc and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for n in names:
            proc = self.procs.pop(n, None)
            if proc is None:
                continue
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_serving(
    port: int,
    proc: subprocess.Popen,
    log_path: Path,
    timeout: float = 30,
    *,
    credentials: grpc.ChannelCredentials,
) -> None:
    deadline = time.monotonic() + timeout
    with grpc.secure_channel(f"127.0.0.1:{port}", credentials) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"process on port {port} exited:\n{_tail(log_path)}")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"service on port {port} not serving:\n{_tail(log_path)}")
            time.sleep(0.1)


def wait_http(url: str, proc: subprocess.Popen, log_path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} process exited:\n{_tail(log_path)}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} not answering:\n{_tail(log_path)}")
        time.sleep(0.1)


def wait_envoy_ready(
    admin_port: int, proc: subprocess.Popen, log_path: Path, timeout: float = 30
) -> None:
    """Envoy's /ready answers 200 once its listeners have their routes (from our xDS)."""
    wait_http(f"http://127.0.0.1:{admin_port}/ready", proc, log_path, timeout)
