"""Creates the owner role and database if needed (as the admin), then applies migrations/ with
yoyo as the owner role. `python -m devstack.migrate` does this for the configured server."""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
from pathlib import Path

import psycopg
from psycopg import sql
from yoyo import get_backend, read_migrations

from devstack.dsn import OWNER_ROLE, with_user

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
log = logging.getLogger(__name__)


def bootstrap_database(admin_dsn: str, database: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [OWNER_ROLE]).fetchone()
        if not exists:
            # CREATEROLE: the migrations create the (non-owner) service roles.
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN CREATEROLE").format(sql.Identifier(OWNER_ROLE))
            )
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(database), sql.Identifier(OWNER_ROLE)
                )
            )


def apply_migrations(owner_dsn: str) -> int:
    backend = get_backend(owner_dsn.replace("postgresql://", "postgresql+psycopg://", 1))
    migrations = read_migrations(str(MIGRATIONS))
    # yoyo prints the result table of every SELECT in a migration to stdout; keep it quiet.
    with backend.lock(), contextlib.redirect_stdout(io.StringIO()):
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return len(pending)


def migrate(admin_dsn: str, database: str) -> None:
    bootstrap_database(admin_dsn, database)
    applied = apply_migrations(with_user(admin_dsn, OWNER_ROLE, database))
    log.info("database %s: %d migration(s) applied", database, applied)


def drop_database(admin_dsn: str, database: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )


def main() -> None:
    from devstack.infra import ensure_postgres
    from devstack.stack import STATE_DIR

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default="shop")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    migrate(ensure_postgres(STATE_DIR), args.database)


if __name__ == "__main__":
    main()
