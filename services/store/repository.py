"""Store rows in PostgreSQL, always through tenant transactions (signup is a tenant transaction
for the store id it allocates)."""

from __future__ import annotations

import asyncpg

from services.common.db import tenant_transaction
from services.common.errors import AlreadyExists, NotFound
from services.store.domain import IssuedToken, NewStore, Store, hash_token, new_access_token

_STORE_COLUMNS = "id, name, subdomain, owner_email, currency, created_at"


def _store(row: asyncpg.Record) -> Store:
    return Store(
        id=row["id"],
        name=row["name"],
        subdomain=row["subdomain"],
        owner_email=row["owner_email"],
        currency=row["currency"],
        created_at=row["created_at"],
    )


class StoreRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(
        self, new: NewStore, token_scopes: tuple[str, ...]
    ) -> tuple[Store, IssuedToken]:
        # The id comes first so the inserts run as that store's tenant transaction.
        store_id = await self._pool.fetchval("SELECT nextval('stores_id_seq')")
        token = new_access_token()
        try:
            async with tenant_transaction(self._pool, store_id=store_id) as conn:
                row = await conn.fetchrow(
                    f"""INSERT INTO stores (id, name, subdomain, owner_email, currency)
                        VALUES ($1, $2, $3, $4, $5) RETURNING {_STORE_COLUMNS}""",
                    store_id,
                    new.name,
                    new.subdomain,
                    new.owner_email,
                    new.currency,
                )
                token_id = await conn.fetchval(
                    """INSERT INTO api_tokens (store_id, name, token_hash, scopes)
                       VALUES ($1, 'owner', $2, $3) RETURNING id""",
                    store_id,
                    hash_token(token),
                    list(token_scopes),
                )
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name == "stores_subdomain_key":
                raise AlreadyExists(
                    f"subdomain: '{new.subdomain}' is already taken; choose another"
                ) from None
            raise
        return _store(row), IssuedToken(str(token_id), token, token_scopes)

    async def get_current(self) -> Store:
        async with tenant_transaction(self._pool, readonly=True) as conn:
            row = await conn.fetchrow(f"SELECT {_STORE_COLUMNS} FROM stores")
        if row is None:
            raise NotFound("store not found")
        return _store(row)
