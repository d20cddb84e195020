"""SSRF guard for outbound webhook URLs, checked at registration and again before each delivery.

Only https (http when configured for local use); the host is resolved and every address must be
public: loopback, private, link-local (incl. 169.254.169.254 metadata), unique-local, CGNAT,
multicast, reserved, unspecified and IPv4-mapped/compatible IPv6 forms of those are refused.
Numeric tricks (decimal 2130706433, 0x7f.1, [::ffff:127.0.0.1]) resolve to what they hide, so
they are refused too. Tests may allow exact host:port targets by configuration.

Checking a name and then letting an HTTP client resolve it again is open to DNS rebinding (a name
answering a public address to the check and 127.0.0.1 to the client): deliveries therefore go
through `services.common.pinned_http`, which resolves once per connection, vets every address
with `vetted_addresses` and connects to the address it vetted."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from services.common.config import env_bool, env_list
from services.common.errors import InvalidArgument

_CGNAT = ipaddress.ip_network("100.64.0.0/10")

#: Resolves (host, port) to IP address strings; the system resolver unless a test gives another.
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class Refused(Exception):
    """A target the policy refuses; `reason` says why in words a merchant can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SsrfPolicy:
    allow_http: bool = False
    # Exact "host:port" targets allowed despite resolving to non-public addresses (tests, dev).
    allowed_targets: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_env(cls) -> SsrfPolicy:
        return cls(
            allow_http=env_bool("WEBHOOK_ALLOW_HTTP", False),
            allowed_targets=frozenset(t.lower() for t in env_list("WEBHOOK_ALLOWED_TARGETS")),
        )


def _refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            reason = _refusal(mapped)
            return f"{reason} (IPv4-mapped)" if reason else None
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("private", address.is_private),
        ("shared (CGNAT)", isinstance(address, ipaddress.IPv4Address) and address in _CGNAT),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
    )
    return next((f"a {name} address" for name, hit in checks if hit), None)


def _field_error(reason: str) -> InvalidArgument:
    return InvalidArgument.field("url", reason)


async def vetted_addresses(
    host: str, port: int, policy: SsrfPolicy, resolve: Resolver = system_resolve
) -> list[str]:
    """Resolves `host` once and returns its addresses if every one is public (or the exact
    host:port is allow-listed); raises Refused otherwise. The caller connects to one of these
    addresses, never to the name again."""
    host = host.rstrip(".").lower()
    try:
        found = await resolve(host, port)
    except (socket.gaierror, UnicodeError):
        raise Refused(f"host '{host}' does not resolve") from None
    if not found:
        raise Refused(f"host '{host}' does not resolve")
    addresses = [a.split("%", 1)[0] for a in found]
    if f"{host}:{port}" in policy.allowed_targets:
        return addresses
    for text in addresses:
        address = ipaddress.ip_address(text)
        reason = _refusal(address)
        if reason:
            raise Refused(f"host '{host}' resolves to {reason} ({address}); refused")
    return addresses


async def check_url(url: str, policy: SsrfPolicy, resolve: Resolver = system_resolve) -> str:
    """Returns the normalised URL, or raises InvalidArgument naming why it is refused."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise _field_error("is not a valid URL") from None
    if parts.scheme not in ("https", "http"):
        raise _field_error("must use https")
    if parts.scheme == "http" and not policy.allow_http:
        raise _field_error("must use https (plain http is refused)")
    if parts.username or parts.password:
        raise _field_error("must not contain credentials")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise _field_error("has no host")
    port = port or (443 if parts.scheme == "https" else 80)
    if f"{host}:{port}" in policy.allowed_targets:
        return parts.geturl()
    try:
        await vetted_addresses(host, port, policy, resolve)
    except Refused as exc:
        raise _field_error(exc.reason) from None
    return parts.geturl()
