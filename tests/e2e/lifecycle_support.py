"""Helpers for the store-lifecycle tests: operator credentials minted with the real CLI against
the test database, operator API calls on the platform host, and row counts per store read as
the database's superuser (introspection over every table that has a store_id)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

import asyncpg
import httpx

from devstack.dsn import OWNER_ROLE, with_database, with_user
from devstack.stack import ROOT
from services.store.operators.rules import OPERATOR_SCOPES
from tests.e2e.api_client import PLATFORM_HOST

ALL_OPERATOR_SCOPES = tuple(sorted(OPERATOR_SCOPES))


@dataclass(frozen=True)
class OperatorHandle:
    id: str
    name: str
    token: str


def operators_cli(stack, *args: str) -> subprocess.CompletedProcess:
    """`python -m services.store.operators …` as whoever runs migrations (shop_operator_admin)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "services.store.operators",
            "--database-url",
            with_user(stack.pg_admin_dsn, OWNER_ROLE, stack.database),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "gen")])},
    )


def mint_operator(stack, name: str, scopes=ALL_OPERATOR_SCOPES) -> OperatorHandle:
    done = operators_cli(stack, "create", "--name", name, "--scopes", ",".join(scopes))
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["token"].startswith("shpop_")
    return OperatorHandle(body["id"], body["name"], body["token"])


def operator_headers(operator: OperatorHandle | str) -> dict[str, str]:
    token = operator if isinstance(operator, str) else operator.token
    return {"host": PLATFORM_HOST, "authorization": f"Bearer {token}"}


def ops_get(http: httpx.Client, operator, path: str, **params) -> httpx.Response:
    return http.get(f"/v1/operator/{path}", headers=operator_headers(operator), params=params)


def ops_post(http: httpx.Client, operator, store_id: str, verb: str, **body) -> httpx.Response:
    return http.post(
        f"/v1/operator/stores/{store_id}:{verb}", headers=operator_headers(operator), json=body
    )


async def admin_conn(stack) -> asyncpg.Connection:
    """The server's superuser on the test database: sees every row (RLS does not bind it)."""
    return await asyncpg.connect(with_database(stack.pg_admin_dsn, stack.database))


async def tables_with_store_id(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
             AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                          AND a.attname = 'store_id' AND NOT a.attisdropped)
           ORDER BY c.relname"""
    )
    return [r["relname"] for r in rows]


async def rows_of_store(stack, store_id: int | str) -> dict[str, int]:
    """Rows naming the store, per table: every table with a store_id, and its `stores` row."""
    conn = await admin_conn(stack)
    try:
        counts = {
            table: await conn.fetchval(
                f'SELECT count(*) FROM "{table}" WHERE store_id = $1', int(store_id)
            )
            for table in await tables_with_store_id(conn)
        }
        counts["stores"] = await conn.fetchval(
            "SELECT count(*) FROM stores WHERE id = $1", int(store_id)
        )
        return counts
    finally:
        await conn.close()
