"""`make k8s-validate` accepts the manifests and rejects a typo'd field; the Envoy bootstrap in
the ConfigMap is current and is a configuration Envoy itself accepts."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.envoy_config import DESCRIPTOR, K8S_BOOTSTRAP, render_k8s
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
    config.write_text(render_k8s().replace("/etc/envoy/shop.pb", str(DESCRIPTOR)))
    envoy = Path(sys.executable).parent / "envoy"
    result = subprocess.run(
        [str(envoy), "--mode", "validate", "-c", str(config), "--log-level", "error"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
