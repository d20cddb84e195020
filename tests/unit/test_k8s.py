"""`make k8s-validate` accepts the manifests and rejects a typo'd field; the Envoy bootstrap in
the ConfigMap is current and is a configuration Envoy itself accepts."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devstack.envoy_config import DESCRIPTOR, K8S_BOOTSTRAP, render_k8s
from devstack.pki import write_mesh
from devstack.stack import ROOT

K8S = ROOT / "k8s"


def _validate(directory: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(K8S / "validate.py"), "--dir", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def k8s_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy)
    return copy


def test_manifests_validate():
    result = _validate(K8S)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 problem(s)" in result.stdout


def test_a_typo_in_a_field_name_fails_validation(k8s_copy: Path):
    manifest = k8s_copy / "store.yaml"
    # A capital S too many: the API server would drop the field silently and run the pod
    # with a writable root filesystem.
    text = manifest.read_text().replace("readOnlyRootFilesystem:", "readOnlyRootFileSystem:", 1)
    manifest.write_text(text)
    result = _validate(k8s_copy)
    assert result.returncode == 1
    assert "'readOnlyRootFileSystem' was unexpected" in result.stdout


def test_a_secret_with_data_in_the_repository_fails(k8s_copy: Path):
    (k8s_copy / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: shop-database}\n"
        "stringData: {app-url: postgresql://shop_app:hunter2@db/shop}\n"
    )
    kustomization = k8s_copy / "kustomization.yaml"
    kustomization.write_text(
        kustomization.read_text().replace("  - envoy.yaml\n", "  - envoy.yaml\n  - secret.yaml\n")
    )
    result = _validate(k8s_copy)
    assert result.returncode == 1
    assert "Secrets are referenced, never stored" in result.stdout


def test_envoy_bootstrap_configmap_is_current():
    assert K8S_BOOTSTRAP.read_text() == render_k8s()


def test_envoy_accepts_the_kubernetes_bootstrap(tmp_path: Path):
    config = tmp_path / "bootstrap.yaml"
    # The shop-mesh-tls Secret's files, as `python -m devstack.pki` makes them.
    mesh = write_mesh(tmp_path / "tls", namespace="shop", keep_ca_key=False)
    text = render_k8s().replace("/etc/envoy/shop.pb", str(DESCRIPTOR))
    config.write_text(text.replace("/etc/shop/tls", str(mesh.directory)))
    envoy = Path(sys.executable).parent / "envoy"
    result = subprocess.run(
        [str(envoy), "--mode", "validate", "-c", str(config), "--log-level", "error"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _documents(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]


@pytest.mark.parametrize(
    ("service", "port"), [("store", 50051), ("catalog", 50052), ("checkout", 50053)]
)
def test_each_service_port_admits_only_envoy(service: str, port: int):
    """No service calls another and the workers call none: the only peer of a service's gRPC
    port is Envoy (issue 19)."""
    policies = [d for d in _documents("network-policy.yaml") if d["kind"] == "NetworkPolicy"]
    admitted = []
    for policy in policies:
        selector = policy["spec"]["podSelector"]
        labels = selector.get("matchLabels", {})
        expressions = selector.get("matchExpressions", [])
        selects = (
            (not labels and not expressions)
            or labels.get("app.kubernetes.io/name") == service
            or any(
                e["key"] == "shop/tier" and "service" in e.get("values", []) for e in expressions
            )
        )
        if not selects:
            continue
        for rule in policy["spec"].get("ingress", []):
            ports = {p["port"] for p in rule.get("ports", [])}
            if not ports or port in ports:
                admitted += rule.get("from", [{"anyone": True}])
    assert admitted == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "envoy"}}}]


@pytest.mark.parametrize("service", ["store", "catalog", "checkout", "relay", "consumers"])
def test_services_bind_the_pod_address_present_mesh_certificates_and_probe_plaintext_health(
    service: str,
):
    deployment = next(d for d in _documents(f"{service}.yaml") if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["BIND_ADDRESS"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert env["TLS_CERT_FILE"]["value"] == f"/etc/shop/tls/{service}.pem"
    assert env["TLS_KEY_FILE"]["value"] == f"/etc/shop/tls/{service}-key.pem"
    health = next(p["containerPort"] for p in container["ports"] if p["name"] == "health")
    assert container["readinessProbe"]["grpc"] == {"port": health}
    assert container["livenessProbe"]["grpc"] == {"port": health}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    keys = {i["key"] for i in volumes["mesh-tls"]["secret"]["items"]}
    # Its own key only: never Envoy's, whose identity is the one trusted with x-store-id.
    assert keys == {"ca.pem", f"{service}.pem", f"{service}-key.pem"}
