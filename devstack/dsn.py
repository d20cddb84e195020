"""PostgreSQL connection strings for each role, derived from one admin connection string."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

OWNER_ROLE = "shop_owner"
APP_ROLE = "shop_app"
CONTROL_ROLE = "shop_control"
RELAY_ROLE = "shop_relay"
WORKER_ROLE = "shop_worker"
OPS_ROLE = "shop_ops"
ERASER_ROLE = "shop_eraser"
REAPER_ROLE = "shop_reaper"


def with_user(dsn: str, user: str, database: str) -> str:
    """Same server (host, port or socket dir), another role and database. Local servers here
    use trust auth; real deployments give every role its own secret instead of this."""
    parts = urlsplit(dsn)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, f"{user}@{host}", f"/{database}", parts.query, ""))


def with_database(dsn: str, database: str) -> str:
    """Same server and role, another database."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))
