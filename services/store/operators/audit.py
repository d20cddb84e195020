"""The append-only audit trail of operator actions (operator_audit). A change's row is written
in the change's own transaction, so no change exists without its row; a read, or a refused
call, gets a row of its own."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.store.operators.rules import AuditEntry, AuditQuery, encode_page_token

_INSERT = """
INSERT INTO operator_audit (at, operator_id, actor, action, target_store_id, request, outcome,
                            before, after)
VALUES (now(), $1, $2, $3, $4, $5::jsonb, $6, $7::jsonb, $8::jsonb)
"""


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    operator_id: uuid.UUID | None
    actor: str
    action: str
    store_id: int | None
    request: dict[str, Any]
    outcome: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, default=str)


def _loads(raw: str | None) -> dict[str, Any] | None:
    return None if raw is None else json.loads(raw)


async def record(conn: asyncpg.Connection | asyncpg.Pool, entry: AuditEntry) -> None:
    """Appends the entry on `conn` (a change's transaction) or on a pool (its own statement)."""
    await conn.execute(
        _INSERT,
        entry.operator_id,
        entry.actor,
        entry.action,
        entry.store_id,
        json.dumps(entry.request, default=str),
        entry.outcome,
        _json(entry.before),
        _json(entry.after),
    )


class AuditLog:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def record(self, entry: AuditEntry) -> None:
        await record(self._pool, entry)

    async def page(self, query: AuditQuery, before_id: int | None) -> tuple[list[AuditRecord], str]:
        rows = await self._pool.fetch(
            """SELECT id, at, operator_id, actor, action, target_store_id,
                      request::text AS request, outcome, before::text AS before,
                      after::text AS after
               FROM operator_audit
               WHERE ($1::bigint IS NULL OR id < $1)
                 AND ($2::bigint IS NULL OR target_store_id = $2)
                 AND ($3::uuid IS NULL OR operator_id = $3)
               ORDER BY id DESC LIMIT $4""",
            before_id,
            query.store_id,
            query.operator_id,
            query.page_size + 1,
        )
        found = [
            AuditRecord(
                id=r["id"],
                at=r["at"],
                operator_id=r["operator_id"],
                actor=r["actor"],
                action=r["action"],
                store_id=r["target_store_id"],
                request=json.loads(r["request"]),
                outcome=r["outcome"],
                before=_loads(r["before"]),
                after=_loads(r["after"]),
            )
            for r in rows[: query.page_size]
        ]
        more = len(rows) > query.page_size
        token = encode_page_token(found[-1].id, query.filters()) if more else ""
        return found, token
