"""Shoppers' secrets and the keys Redis keeps them under. Plain Python.

A session token and an emailed token are 256-bit random strings with a prefix that says what
they are (and lets the log redaction recognise them wherever they appear). Redis holds only
their SHA-256: a token is random enough that a fast hash is enough, and a copy of Redis signs
nobody in. Every key names its store, so a token presented at another store's host is simply
not found."""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

SESSION_PREFIX = "shpss_"
EMAIL_TOKEN_PREFIX = "shpet_"
SESSION_HEADER = "x-shopper-session"
# Longer than any token we issue; anything longer is not one of ours.
MAX_TOKEN_LENGTH = 100

ACTIVATION = "activate"
RESET = "reset"


@dataclass(frozen=True)
class Session:
    """A resolved session: whose it is, and its hash (to end it)."""

    store_id: int
    customer_id: str
    token_hash: str


def new_session_token() -> str:
    return SESSION_PREFIX + secrets.token_urlsafe(32)


def new_email_token() -> str:
    return EMAIL_TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def plausible(token: str, prefix: str) -> bool:
    return token.startswith(prefix) and 20 < len(token) <= MAX_TOKEN_LENGTH and token.isascii()


def session_key(store_id: int, hashed: str) -> str:
    return f"shopper:session:{store_id}:{hashed}"


def sessions_of_key(store_id: int, customer_id: str) -> str:
    """The set of a customer's session hashes (to end them all or all but one)."""
    return f"shopper:sessions:{store_id}:{customer_id}"


def email_token_key(store_id: int, kind: str, hashed: str) -> str:
    return f"shopper:{kind}:{store_id}:{hashed}"


def email_digest(email_key: str) -> str:
    """Throttle keys carry a digest of the email, never the address itself."""
    return hashlib.sha256(email_key.encode()).hexdigest()[:32]


def throttle_keys(kind: str, store_id: int, email_key: str | None, client: str) -> list[str]:
    keys = [f"shopper:throttle:{kind}:client:{client}"]
    if email_key is not None:
        keys.insert(0, f"shopper:throttle:{kind}:{store_id}:{email_digest(email_key)}")
    return keys


def client_address(forwarded_for: Sequence[str], peer: str) -> str:
    """The client the edge saw. Envoy (use_remote_address, no trusted hops) appends the address
    of the connection it accepted to x-forwarded-for, so only the last entry is trusted: a
    client can put anything before it. Without the header (a direct call inside the network)
    the gRPC peer is used. IPv6 clients are grouped by /64, what one host usually holds."""
    raw = ""
    if forwarded_for:
        raw = forwarded_for[-1].split(",")[-1].strip()
    if not raw:
        raw = _peer_host(peer)
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False).network_address) + "/64"
    return str(address)


def _peer_host(peer: str) -> str:
    """grpc's peer: 'ipv4:127.0.0.1:5000', 'ipv6:[::1]:5000'."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rpartition(":")[0]
    if kind == "ipv6":
        return rest.rpartition(":")[0].strip("[]")
    return ""
