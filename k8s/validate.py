"""`make k8s-validate`: checks every manifest offline, no cluster needed.

1. Builds the kustomization (`kubectl kustomize`, or the same resources and generated ConfigMaps
   read directly when kubectl is absent) and validates every object against the Kubernetes
   OpenAPI schemas bundled with `kubernetes-validate`, strictly: an unknown field (a typo such
   as `readinesProbe`) is an error, not silently dropped as the API server would.
2. Checks the rules this platform holds every workload to (non-root, read-only root FS, no
   capabilities, requests and limits, probes, no Secret objects in the repository).
3. Checks that the Envoy bootstrap in the ConfigMap is the current rendering of
   envoy/bootstrap.yaml.

Usage: python k8s/validate.py [--dir k8s] [--kubernetes-version 1.33.0]"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

HERE = Path(__file__).resolve().parent
KUBERNETES_VERSION = "1.33.0"


def build(directory: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl:
        out = subprocess.run(
            [kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=False
        )
        if out.returncode != 0:
            raise SystemExit(f"kustomize build failed:\n{out.stderr}")
        return [d for d in yaml.safe_load_all(out.stdout) if d]
    print("kubectl not found: validating the kustomization's files without kustomize")
    return _build_without_kustomize(directory)


def _build_without_kustomize(directory: Path) -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    docs = []
    for resource in kustomization.get("resources", []):
        docs += [d for d in yaml.safe_load_all((directory / resource).read_text()) if d]
    for generator in kustomization.get("configMapGenerator", []):
        data = {}
        for entry in generator.get("files", []):
            key, _, path = entry.rpartition("=")
            data[key or Path(path).name] = (directory / path).read_text()
        for literal in generator.get("literals", []):
            key, _, value = literal.partition("=")
            data[key] = value
        docs.append(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]}}
            | {"data": data}
        )
    return docs


def _name(doc: dict[str, Any]) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def schema_errors(docs: list[dict[str, Any]], version: str) -> list[str]:
    errors = []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            errors.append(f"{_name(doc)}: {path}: {exc.message}")
        except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError):
            errors.append(f"{_name(doc)}: no schema for {doc.get('apiVersion')} {version}")
    return errors


def _pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    if doc.get("kind") in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
        return doc.get("spec", {}).get("template", {}).get("spec", {})
    return None


def policy_errors(docs: list[dict[str, Any]]) -> list[str]:
    errors = []
    names = {(d.get("kind"), d.get("metadata", {}).get("name")) for d in docs}
    for doc in docs:
        where = _name(doc)
        if doc.get("kind") == "Secret":
            errors.append(f"{where}: Secrets are referenced, never stored in the repository")
        pod = _pod_spec(doc)
        if pod is None:
            continue
        if not pod.get("securityContext", {}).get("runAsNonRoot"):
            errors.append(f"{where}: pod must set securityContext.runAsNonRoot")
        if pod.get("automountServiceAccountToken") is not False:
            errors.append(f"{where}: no workload here talks to the Kubernetes API")
        for c in pod.get("containers", []):
            at = f"{where} container {c.get('name')}"
            sc = c.get("securityContext", {})
            if sc.get("readOnlyRootFilesystem") is not True:
                errors.append(f"{at}: readOnlyRootFilesystem must be true")
            if sc.get("allowPrivilegeEscalation") is not False:
                errors.append(f"{at}: allowPrivilegeEscalation must be false")
            if "ALL" not in sc.get("capabilities", {}).get("drop", []):
                errors.append(f"{at}: capabilities must drop ALL")
            resources = c.get("resources", {})
            for kind in ("requests", "limits"):
                if not {"cpu", "memory"} <= resources.get(kind, {}).keys():
                    errors.append(f"{at}: resources.{kind} needs cpu and memory")
            if doc["kind"] == "Deployment":
                for probe in ("readinessProbe", "livenessProbe"):
                    if probe not in c:
                        errors.append(f"{at}: {probe} missing")
        if doc["kind"] == "Deployment":
            name = doc["metadata"]["name"]
            for kind in ("Service", "PodDisruptionBudget", "ServiceAccount"):
                if (kind, name) not in names:
                    errors.append(f"{where}: no {kind} named {name}")
    return errors


def bootstrap_errors(directory: Path) -> list[str]:
    """The ConfigMap's Envoy bootstrap must be the rendering of the current template."""
    try:
        from devstack.envoy_config import render_k8s
    except ImportError as exc:  # gen/ missing: `make proto` first
        return [f"cannot render the Envoy bootstrap ({exc}); run `make proto`"]
    committed = directory / "envoy" / "bootstrap.yaml"
    if not committed.exists() or committed.read_text() != render_k8s():
        return [
            f"{committed}: stale; regenerate with `python -m devstack.envoy_config --k8s`"
            " after changing envoy/bootstrap.yaml"
        ]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=HERE)
    parser.add_argument("--kubernetes-version", default=KUBERNETES_VERSION)
    args = parser.parse_args(argv)
    docs = build(args.dir)
    errors = [
        *schema_errors(docs, args.kubernetes_version),
        *policy_errors(docs),
        *bootstrap_errors(args.dir),
    ]
    for error in errors:
        print(f"FAIL {error}")
    kinds = sorted({d["kind"] for d in docs})
    print(
        f"{len(docs)} objects ({', '.join(kinds)}) checked against Kubernetes "
        f"{args.kubernetes_version}: {len(errors)} problem(s)"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
