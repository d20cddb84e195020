"""Direct calls to a service's own port, past Envoy, as an operator (grpcurl) or a test would
make them: always over mutual TLS with a certificate of the stack's mesh CA. The identity says
who is calling — "operator" (health, reflection, the operator API; never trusted with
x-store-id) unless a test deliberately stands in for Envoy with "edge"."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import grpc

from devstack.stack import Stack


def target(stack: Stack, service_or_port: str | int) -> str:
    if isinstance(service_or_port, int):
        return f"127.0.0.1:{service_or_port}"
    return stack.service_target(service_or_port)


def aio_channel(
    stack: Stack, service_or_port: str | int, identity: str = "operator"
) -> grpc.aio.Channel:
    return grpc.aio.secure_channel(target(stack, service_or_port), stack.credentials(identity))


def channel(stack: Stack, service_or_port: str | int, identity: str = "operator") -> grpc.Channel:
    return grpc.secure_channel(target(stack, service_or_port), stack.credentials(identity))


def grpcurl_tls_args(stack: Stack, identity: str = "operator") -> list[str]:
    """grpcurl's flags for the same mutual TLS."""
    mesh = stack.mesh
    return [
        "-cacert",
        str(mesh.ca),
        "-cert",
        str(mesh.cert(identity)),
        "-key",
        str(mesh.key(identity)),
    ]


def listening_addresses(port: int) -> set[str]:
    """The local addresses a TCP socket on `port` listens on (Linux /proc/net/tcp{,6})."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, _, hex_port = fields[1].rpartition(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.add(_address(address))
    return found


def _address(hex_address: str) -> str:
    raw = bytes.fromhex(hex_address)
    if len(raw) == 4:
        return ".".join(str(b) for b in reversed(raw))
    # IPv6: four little-endian 32-bit words.
    words = [raw[i : i + 4][::-1] for i in range(0, 16, 4)]
    address = ipaddress.IPv6Address(b"".join(words))
    # grpc listens on an IPv6 socket bound to ::ffff:127.0.0.1 for an IPv4 address.
    return str(address.ipv4_mapped or address)
