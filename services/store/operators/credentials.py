"""Operator credentials in PostgreSQL, for the CLI (`python -m services.store.operators`): run
against the database by someone holding the shop_operator_admin role, never by a service. Only
the secret's sha256 is stored; the secret is printed once. Every change is audited."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg

from services.common.db import fetch_one
from services.common.errors import NotFound
from services.store.operators import audit
from services.store.operators.rules import (
    AuditEntry,
    CredentialInfo,
    NewCredential,
    hash_operator_token,
    new_operator_token,
)

_COLUMNS = "id, name, scopes, created_at, created_by, expires_at, revoked_at"


def _info(row: asyncpg.Record) -> CredentialInfo:
    return CredentialInfo(
        id=row["id"],
        name=row["name"],
        scopes=tuple(row["scopes"]),
        created_at=row["created_at"],
        created_by=row["created_by"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
    )


class CredentialStore:
    def __init__(self, conn: asyncpg.Connection, actor: str) -> None:
        self._conn = conn
        self._actor = actor

    async def create(
        self, new: NewCredential, valid_for: timedelta | None, now: datetime
    ) -> tuple[str, CredentialInfo]:
        secret = new_operator_token()
        async with self._conn.transaction():
            row = await fetch_one(
                self._conn,
                f"""INSERT INTO operator_credentials
                        (id, name, token_hash, scopes, created_at, created_by, expires_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_COLUMNS}""",
                uuid.uuid4(),
                new.name,
                hash_operator_token(secret),
                list(new.scopes),
                now,
                self._actor,
                None if valid_for is None else now + valid_for,
            )
            info = _info(row)
            await audit.record(
                self._conn,
                AuditEntry(
                    actor=self._actor,
                    action="credential.create",
                    request={
                        "credential_id": str(info.id),
                        "name": info.name,
                        "scopes": list(info.scopes),
                        "expires_at": info.expires_at.isoformat() if info.expires_at else None,
                    },
                ),
            )
        return secret, info

    async def list(self) -> list[CredentialInfo]:
        rows = await self._conn.fetch(
            f"SELECT {_COLUMNS} FROM operator_credentials ORDER BY created_at, id"
        )
        return [_info(r) for r in rows]

    async def revoke(self, credential_id: uuid.UUID, now: datetime) -> CredentialInfo:
        async with self._conn.transaction():
            row = await self._conn.fetchrow(
                f"""UPDATE operator_credentials SET revoked_at = coalesce(revoked_at, $2)
                    WHERE id = $1 RETURNING {_COLUMNS}""",
                credential_id,
                now,
            )
            if row is None:
                raise NotFound(f"operator credential '{credential_id}' not found")
            await audit.record(
                self._conn,
                AuditEntry(
                    actor=self._actor,
                    action="credential.revoke",
                    request={"credential_id": str(credential_id)},
                ),
            )
        return _info(row)
