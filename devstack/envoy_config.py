"""Renders envoy/bootstrap.yaml for a local run, and for Kubernetes (`python -m
devstack.envoy_config --k8s` writes k8s/envoy/bootstrap.yaml, which the kustomization turns into
the Envoy ConfigMap; a test keeps the two from drifting)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from string import Template

import yaml

from devstack.infra import free_port
from devstack.pki import MeshFiles
from services.common.identities import TRUST_DOMAIN
from services.store.edge.api import TRANSCODED_SERVICES

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "envoy" / "bootstrap.yaml"
DESCRIPTOR = ROOT / "gen" / "shop.pb"
K8S_BOOTSTRAP = ROOT / "k8s" / "envoy" / "bootstrap.yaml"


def render(
    *,
    listen_port: int,
    admin_port: int,
    store_port: int,
    catalog_port: int,
    checkout_port: int = 50053,
    listen_address: str = "127.0.0.1",
    node_id: str = "edge-local",
    otlp_endpoint: str | None = None,
    ops_port: int | None = None,
    mesh: MeshFiles | None = None,
    idle_timeout_s: float = 60,
    request_headers_timeout_s: float = 10,
    max_downstream_connections: int = 50000,
) -> str:
    """`mesh`: the certificates Envoy presents to the services and checks them by (devstack's
    Stack.mesh); without it the paths of `make run`'s, for configs that are only inspected.
    `otlp_endpoint` ("host:port" of an OTLP/gRPC collector) turns tracing on; without it the
    tracing block and the collector cluster are left out, so Envoy makes no spans at all.
    `idle_timeout_s`, `request_headers_timeout_s` and `max_downstream_connections` let a
    test see idle and slow connections closed in seconds."""
    mesh = mesh or MeshFiles(ROOT / ".run" / "pki")
    otlp_host, _, otlp_port = (otlp_endpoint or "127.0.0.1:4317").rpartition(":")
    text = Template(TEMPLATE.read_text()).substitute(
        OTLP_HOST=otlp_host,
        OTLP_PORT=otlp_port,
        TRACE_SAMPLING_PERCENT=100,
        OPS_ADDRESS="127.0.0.1",
        OPS_PORT=ops_port or free_port(),
        NODE_ID=node_id,
        ADMIN_PORT=admin_port,
        LISTEN_ADDRESS=listen_address,
        LISTEN_PORT=listen_port,
        DESCRIPTOR_PATH=str(DESCRIPTOR),
        TRANSCODED_SERVICES=json.dumps(list(TRANSCODED_SERVICES)),
        STORE_HOST="127.0.0.1",
        STORE_PORT=store_port,
        CATALOG_HOST="127.0.0.1",
        CATALOG_PORT=catalog_port,
        CHECKOUT_HOST="127.0.0.1",
        CHECKOUT_PORT=checkout_port,
        EDGE_CERT_FILE=str(mesh.cert("edge")),
        EDGE_KEY_FILE=str(mesh.key("edge")),
        MESH_CA_FILE=str(mesh.ca),
        TRUST_DOMAIN=TRUST_DOMAIN,
        IDLE_TIMEOUT=f"{idle_timeout_s}s",
        REQUEST_HEADERS_TIMEOUT=f"{request_headers_timeout_s}s",
        MAX_DOWNSTREAM_CONNECTIONS=max_downstream_connections,
    )
    return text if otlp_endpoint else without_tracing(text)


def without_tracing(text: str) -> str:
    config = yaml.safe_load(text)
    for listener in config["static_resources"]["listeners"]:
        for chain in listener["filter_chains"]:
            for network_filter in chain["filters"]:
                network_filter.get("typed_config", {}).pop("tracing", None)
    clusters = config["static_resources"]["clusters"]
    clusters[:] = [c for c in clusters if c["name"] != "otel_collector"]
    return yaml.safe_dump(config, sort_keys=False)


# In the cluster the services are headless Services (one DNS record per pod, so Envoy balances
# requests over pods instead of pinning an HTTP/2 connection to one), in Envoy's namespace.
K8S_VALUES = {
    "NODE_ID": "edge",  # replaced per pod by --service-node
    "ADMIN_PORT": 9901,
    "LISTEN_ADDRESS": "0.0.0.0",
    "LISTEN_PORT": 8080,
    "OPS_ADDRESS": "0.0.0.0",
    "OPS_PORT": 9902,
    "DESCRIPTOR_PATH": "/etc/envoy/shop.pb",  # baked into the Envoy image (k8s/images)
    "TRANSCODED_SERVICES": json.dumps(list(TRANSCODED_SERVICES)),
    "STORE_HOST": "store",
    "STORE_PORT": 50051,
    "CATALOG_HOST": "catalog",
    "CATALOG_PORT": 50052,
    "CHECKOUT_HOST": "checkout",
    "CHECKOUT_PORT": 50053,
    # The shop-mesh-tls Secret, mounted by k8s/envoy.yaml (made by `python -m devstack.pki`).
    "EDGE_CERT_FILE": "/etc/shop/tls/edge.pem",
    "EDGE_KEY_FILE": "/etc/shop/tls/edge-key.pem",
    "MESH_CA_FILE": "/etc/shop/tls/ca.pem",
    "TRUST_DOMAIN": TRUST_DOMAIN,
    "OTLP_HOST": "otel-collector.observability.svc.cluster.local",
    "OTLP_PORT": 4317,
    # Parent-based samplers in the services follow Envoy's decision.
    "TRACE_SAMPLING_PERCENT": 10,
    "IDLE_TIMEOUT": "60s",
    "REQUEST_HEADERS_TIMEOUT": "10s",
    "MAX_DOWNSTREAM_CONNECTIONS": 50000,
}


def render_k8s() -> str:
    header = (
        "# GENERATED from envoy/bootstrap.yaml by `python -m devstack.envoy_config --k8s`;"
        " do not edit.\n"
    )
    return header + Template(TEMPLATE.read_text()).substitute(K8S_VALUES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--k8s", action="store_true", help=f"write {K8S_BOOTSTRAP}")
    args = parser.parse_args()
    if args.k8s:
        K8S_BOOTSTRAP.parent.mkdir(parents=True, exist_ok=True)
        K8S_BOOTSTRAP.write_text(render_k8s())
        print(f"wrote {K8S_BOOTSTRAP.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
