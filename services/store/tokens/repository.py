"""A store's admin access tokens in PostgreSQL, through its tenant transaction. Only the
sha256 of a token is stored; the secret exists in the create response alone."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.common import cursor
from services.common.db import fetch_one, tenant_transaction
from services.common.errors import NotFound
from services.common.ids import parse_uuid
from services.common.tenancy import require_store_id
from services.store.tokens.rules import (
    IssuedToken,
    NewToken,
    TokenInfo,
    hash_token,
    new_access_token,
)

LIST_KINDS: cursor.Kinds = {"newest": (datetime, uuid.UUID)}
_COLUMNS = "id, name, scopes, created_at, revoked_at"


def _info(row: asyncpg.Record) -> TokenInfo:
    return TokenInfo(
        id=str(row["id"]),
        name=row["name"],
        scopes=tuple(row["scopes"]),
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


class TokenRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(self, new: NewToken) -> tuple[IssuedToken, TokenInfo]:
        secret = new_access_token()
        async with tenant_transaction(self._pool) as conn:
            row = await fetch_one(
                conn,
                f"""INSERT INTO api_tokens (store_id, name, token_hash, scopes)
                    VALUES ($1, $2, $3, $4) RETURNING {_COLUMNS}""",
                require_store_id(),
                new.name,
                hash_token(secret),
                list(new.scopes),
            )
        info = _info(row)
        return IssuedToken(info.id, secret, info.scopes), info

    async def list(self, size: int, page_token: str) -> tuple[list[TokenInfo], str]:
        """Newest first (ties by id), keyset-paged."""
        after = cursor.decode(page_token, LIST_KINDS, {})[1] if page_token else None
        where = "store_id = $1"
        args: list[object] = [require_store_id()]
        if after is not None:
            where += " AND (created_at < $2 OR (created_at = $2 AND id > $3))"
            args += [after[0], after[1]]
        args.append(size + 1)
        async with tenant_transaction(self._pool, readonly=True) as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM api_tokens WHERE {where}"
                f" ORDER BY created_at DESC, id LIMIT ${len(args)}",
                *args,
            )
        found = [_info(r) for r in rows[:size]]
        token = ""
        if len(rows) > size:
            last = rows[size - 1]
            token = cursor.encode("newest", {}, (last["created_at"], last["id"]))
        return found, token

    async def revoke(self, token_id: str) -> tuple[TokenInfo, bytes]:
        """Marks the token revoked (idempotent) and returns it with its hash, so the caller can
        overwrite the authorizer's cache."""
        key = parse_uuid(token_id, "id")
        async with tenant_transaction(self._pool) as conn:
            row = await conn.fetchrow(
                f"""UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
                    WHERE store_id = $2 AND id = $1 RETURNING {_COLUMNS}, token_hash""",
                key,
                require_store_id(),
            )
        if row is None:
            raise NotFound(f"access token '{token_id}' not found")
        return _info(row), bytes(row["token_hash"])
