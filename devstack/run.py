"""`make run`: the whole platform on this machine, on fixed local ports, until Ctrl-C."""

from __future__ import annotations

import logging
import os
import signal
import time

from devstack.amqp import ensure_rabbitmq
from devstack.infra import ensure_postgres, ensure_redis
from devstack.mail_sink import start_mail_sink
from devstack.seed import seed_demo
from devstack.stack import STATE_DIR, Ports, Stack

log = logging.getLogger("devstack")


def _ports() -> Ports:
    return Ports(
        edge=int(os.environ.get("EDGE_PORT", "8080")),
        envoy_admin=int(os.environ.get("ENVOY_ADMIN_PORT", "9901")),
        store=int(os.environ.get("STORE_GRPC_PORT", "50051")),
        catalog=int(os.environ.get("CATALOG_GRPC_PORT", "50052")),
        relay=int(os.environ.get("RELAY_GRPC_PORT", "50054")),
        consumers=int(os.environ.get("CONSUMERS_GRPC_PORT", "50055")),
    )


def _banner(stack: Stack, host: str, token: str | None, store_id: str) -> str:
    edge = stack.ports.edge
    token_line = (
        f"  admin token (shown once, keep it): {token}"
        if token
        else "  the demo store already existed; its admin token was printed on the first run"
    )
    tok = token or "<token>"
    mesh = stack.mesh
    return f"""
Platform is up. Logs: {stack.run_dir}/*.log   Emails: {stack.run_dir}/mail/   Stop: Ctrl-C

  storefront host: {host}  (store id {store_id})
  Envoy: 127.0.0.1:{edge}, its admin interface 127.0.0.1:{stack.ports.envoy_admin}
{token_line}

API reference (OpenAPI 3.1, generated from the protos by make proto):
  page: http://api.{stack.platform_domain}:{edge}/docs   (browsers resolve *.localhost here)
  documents: curl -s -H 'Host: api.{stack.platform_domain}' \
       http://127.0.0.1:{edge}/openapi/storefront.json   (also admin.json, platform.json)

REST through Envoy:
  curl -s -H 'Host: {host}' http://127.0.0.1:{edge}/v1/products
  curl -s -H 'Host: {host}' http://127.0.0.1:{edge}/v1/products/classic-tee
  curl -s -H 'Host: {host}' -H 'Authorization: Bearer {tok}' \\
       http://127.0.0.1:{edge}/v1/admin/store
  curl -s -H 'Host: api.{stack.platform_domain}' http://127.0.0.1:{edge}/v1/stores \\
       -d '{{"name":"My Shop","subdomain":"my-shop","owner_email":"me@example.com",
            "currency":"EUR"}}'

gRPC through Envoy (the :authority picks the store; descriptors from the generated protoset):
  .venv/bin/grpcurl -plaintext -protoset gen/shop.pb -authority {host} \\
       127.0.0.1:{edge} shop.catalog.v1.Storefront/ListProducts

Operator API (platform host; mint a credential first, its token is shown once):
  OPERATORS_DATABASE_URL='{stack.owner_dsn}' \\
    .venv/bin/python -m services.store.operators create --name me \\
    --scopes read_stores,manage_plans,suspend_stores,close_stores,read_audit
  curl -s -H 'Host: api.{stack.platform_domain}' -H 'Authorization: Bearer <shpop_…>' \\
       http://127.0.0.1:{edge}/v1/operator/stores

gRPC directly (server reflection, no proto files needed; mutual TLS with the operator
certificate in {mesh.directory}; a store's data only through Envoy):
  T='-cacert {mesh.ca} -cert {mesh.cert("operator")} -key {mesh.key("operator")}'
  .venv/bin/grpcurl $T 127.0.0.1:{stack.ports.catalog} list
  .venv/bin/grpcurl $T 127.0.0.1:{stack.ports.catalog} describe shop.catalog.v1.Storefront
"""


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    smtp_port = int(os.environ.get("SMTP_PORT", "1025"))
    mail_sink = None
    if not os.environ.get("SMTP_HOST"):
        mail_sink = start_mail_sink(STATE_DIR / "mail", smtp_port)
    stack = Stack(
        pg_admin_dsn=ensure_postgres(STATE_DIR),
        redis_url=ensure_redis(STATE_DIR / "redis"),
        database=os.environ.get("DATABASE_NAME", "shop"),
        ports=_ports(),
        platform_domain=os.environ.get("PLATFORM_DOMAIN", "myshop.localhost"),
        # Outbox relay and consumers; emails go to SMTP_HOST:SMTP_PORT or to .run/mail/*.eml.
        amqp_url=ensure_rabbitmq(),
        smtp_host=os.environ.get("SMTP_HOST", "127.0.0.1"),
        smtp_port=smtp_port,
        # Traces from Envoy and the services to an OTLP/gRPC collector ("host:port"), if given.
        otlp_endpoint=os.environ.get("OTLP_COLLECTOR") or None,
        # /metrics of each process on the services' default metrics ports.
        metrics_ports={"store": 9051, "catalog": 9052, "relay": 9054, "consumers": 9055},
    )
    stopping = False

    def _stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        stack.start()
        seeded = seed_demo(
            stack.edge_url,
            stack.platform_domain,
            stack.stripe_url,
            lambda: stack.admin_fetchval(
                "SELECT stripe_account_id FROM stores WHERE subdomain = 'demo'"
            ),
        )
        print(_banner(stack, seeded.host, seeded.token, seeded.store_id), flush=True)
        while not stopping:
            for name, proc in stack.procs.items():
                if proc.poll() is not None:
                    log.error(
                        "%s exited with %s; see %s/%s.log",
                        name,
                        proc.returncode,
                        stack.run_dir,
                        name,
                    )
                    stopping = True
            time.sleep(0.5)
    finally:
        log.info("stopping")
        stack.stop()
        if mail_sink is not None:
            mail_sink.stop()


if __name__ == "__main__":
    main()
