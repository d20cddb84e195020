"""Operator credentials, from the command line, against the database:

    python -m services.store.operators create --name alice --scopes read_stores,suspend_stores
    python -m services.store.operators list
    python -m services.store.operators revoke <credential id>

`create` prints the secret once (as JSON, with the credential's id); only its sha256 is kept.
Connects with --database-url or OPERATORS_DATABASE_URL (default: the owner role locally) as a
role holding shop_operator_admin. Every create and revoke is in the operator audit trail."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from datetime import UTC, datetime, timedelta

import asyncpg

from services.common.config import env
from services.common.errors import DomainError
from services.common.ids import parse_uuid
from services.store.operators.credentials import CredentialStore
from services.store.operators.rules import CredentialInfo, validate_new_credential

DEFAULT_URL = "postgresql://shop_owner@127.0.0.1:5432/shop"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _public(info: CredentialInfo) -> dict[str, object]:
    return {
        "id": str(info.id),
        "name": info.name,
        "scopes": list(info.scopes),
        "created_at": _iso(info.created_at),
        "created_by": info.created_by,
        "expires_at": _iso(info.expires_at),
        "revoked_at": _iso(info.revoked_at),
    }


async def _run(args: argparse.Namespace) -> None:
    conn = await asyncpg.connect(args.database_url)
    try:
        credentials = CredentialStore(conn, f"cli:{getpass.getuser()}")
        now = datetime.now(UTC)
        if args.command == "create":
            new = validate_new_credential(args.name, args.scopes.split(","))
            days = args.expires_in_days
            valid_for = timedelta(days=days) if days > 0 else None
            secret, info = await credentials.create(new, valid_for, now)
            print(json.dumps({**_public(info), "token": secret}))
            print("the token is shown once; only its hash is stored", file=sys.stderr)
        elif args.command == "list":
            for info in await credentials.list():
                print(json.dumps(_public(info)))
        else:
            info = await credentials.revoke(parse_uuid(args.id, "id"), now)
            print(json.dumps(_public(info)))
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m services.store.operators", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--database-url", default=env("OPERATORS_DATABASE_URL", DEFAULT_URL))
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="mint a credential (the secret is shown once)")
    create.add_argument("--name", required=True, help="who or what it is for, 1-100 characters")
    create.add_argument("--scopes", required=True, help="comma-separated operator scopes")
    create.add_argument(
        "--expires-in-days", type=int, default=90, help="0: never expires (default 90)"
    )
    commands.add_parser("list", help="every credential, without secrets")
    revoke = commands.add_parser("revoke", help="refuse a credential from now on")
    revoke.add_argument("id")
    args = parser.parse_args()
    try:
        asyncio.run(_run(args))
    except DomainError as exc:
        parser.exit(2, f"error: {exc.message}\n")


if __name__ == "__main__":
    main()
