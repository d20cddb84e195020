"""The mesh's certificates: one local CA, a server certificate per service, Envoy's client
certificate (the edge identity the services trust with `x-store-id`) and an operator's (grpcurl,
tests: reaches health, reflection and the operator API, never a store's data).

devstack keeps them in `<run dir>/pki/` (made once, reused by later runs so grpcurl lines keep
working). `python -m devstack.pki --out DIR` writes the same set for a Kubernetes Secret
(k8s/README.md: `kubectl create secret generic shop-mesh-tls --from-file=DIR`)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from services.common import pki
from services.common.identities import EDGE_IDENTITY, OPERATOR_IDENTITY, service_identity

SERVICES = ("store", "catalog", "checkout", "relay", "consumers")
# Client identities: who may present what.
CLIENTS = {"edge": EDGE_IDENTITY, "operator": OPERATOR_IDENTITY}


def _server_names(service: str, namespace: str | None) -> list[str]:
    names = [service, "localhost"]
    if namespace:
        names += [f"{service}.{namespace}.svc", f"{service}.{namespace}.svc.cluster.local"]
    return names


@dataclass(frozen=True)
class MeshFiles:
    """Paths of one directory of mesh certificates."""

    directory: Path

    @property
    def ca(self) -> Path:
        return self.directory / "ca.pem"

    def cert(self, name: str) -> Path:
        return self.directory / f"{name}.pem"

    def key(self, name: str) -> Path:
        return self.directory / f"{name}-key.pem"

    def server_env(self, service: str) -> dict[str, str]:
        """The TLS_* settings of a service process (services.common.config.TlsFiles)."""
        return {
            "TLS_CERT_FILE": str(self.cert(service)),
            "TLS_KEY_FILE": str(self.key(service)),
            "TLS_CA_FILE": str(self.ca),
        }

    def client(self, identity: str = "operator") -> tuple[bytes, bytes, bytes]:
        """(CA, private key, certificate chain) in the order grpc.ssl_channel_credentials
        takes them."""
        return (
            self.ca.read_bytes(),
            self.key(identity).read_bytes(),
            self.cert(identity).read_bytes(),
        )

    def complete(self) -> bool:
        names = [*SERVICES, *CLIENTS]
        return self.ca.exists() and all(
            self.cert(n).exists() and self.key(n).exists() for n in names
        )


def _write(path: Path, data: bytes, private: bool = False) -> None:
    path.write_bytes(data)
    if private:
        path.chmod(0o600)


def write_mesh(
    directory: Path, *, namespace: str | None = None, keep_ca_key: bool = True
) -> MeshFiles:
    """A fresh CA and every leaf in `directory`. `keep_ca_key` False (Kubernetes) leaves the
    CA's key out: nothing in the cluster signs certificates."""
    directory.mkdir(parents=True, exist_ok=True)
    files = MeshFiles(directory)
    ca = pki.make_ca("shop mesh CA")
    _write(files.ca, ca.cert_pem)
    if keep_ca_key:
        _write(directory / "ca-key.pem", ca.key_pem, private=True)
    for service in SERVICES:
        leaf = pki.issue(
            ca,
            service,
            dns_names=_server_names(service, namespace),
            uris=[service_identity(service)],
            ip_addresses=["127.0.0.1", "::1"],
            client=False,
        )
        _write(files.cert(service), leaf.cert_pem)
        _write(files.key(service), leaf.key_pem, private=True)
    for name, identity in CLIENTS.items():
        leaf = pki.issue(ca, name, uris=[identity], server=False)
        _write(files.cert(name), leaf.cert_pem)
        _write(files.key(name), leaf.key_pem, private=True)
    return files


def ensure_mesh(directory: Path) -> MeshFiles:
    """The certificates in `directory`, made when missing or incomplete."""
    files = MeshFiles(directory)
    return files if files.complete() else write_mesh(directory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="directory to write")
    parser.add_argument("--namespace", default="shop", help="Kubernetes namespace of the services")
    args = parser.parse_args()
    write_mesh(args.out, namespace=args.namespace, keep_ca_key=False)
    print(f"wrote the mesh certificates to {args.out} (the CA's key is not kept)")


if __name__ == "__main__":
    main()
