"""Store rows in PostgreSQL, always through tenant transactions (signup is a tenant transaction
for the store id it allocates)."""

from __future__ import annotations

import json

import asyncpg

from services.common.db import fetch_one, tenant_transaction
from services.common.errors import AlreadyExists, NotFound
from services.common.tenancy import require_store_id
from services.store.stores.rules import NewStore, Store
from services.store.stores.settings_rules import SettingsChange
from services.store.tokens.rules import IssuedToken, hash_token, new_access_token

_STORE_COLUMNS = """id, name, subdomain, owner_email, currency, created_at, theme_id,
    low_stock_threshold, settings::text AS settings, plan, status, erase_after,
    (SELECT d.domain FROM store_domains d
     WHERE d.store_id = stores.id AND d.is_primary) AS primary_custom_domain,
    (SELECT c.new_email FROM store_confirmations c
     WHERE c.store_id = stores.id AND c.purpose = 'owner_email'
       AND c.expires_at > now()) AS pending_owner_email"""


def _store(row: asyncpg.Record) -> Store:
    return Store(
        id=row["id"],
        name=row["name"],
        subdomain=row["subdomain"],
        owner_email=row["owner_email"],
        currency=row["currency"],
        created_at=row["created_at"],
        theme_id=row["theme_id"],
        low_stock_threshold=row["low_stock_threshold"],
        settings=json.loads(row["settings"]),
        plan=row["plan"],
        primary_custom_domain=row["primary_custom_domain"],
        status=row["status"],
        pending_owner_email=row["pending_owner_email"],
        erase_after=row["erase_after"],
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
                row = await fetch_one(
                    conn,
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
        store_id = require_store_id()
        async with tenant_transaction(self._pool, store_id=store_id, readonly=True) as conn:
            row = await conn.fetchrow(
                f"SELECT {_STORE_COLUMNS} FROM stores WHERE id = $1", store_id
            )
        if row is None:
            raise NotFound("store not found")
        return _store(row)

    async def update_settings(self, change: SettingsChange) -> Store:
        settings = None if change.settings is None else json.dumps(change.settings)
        async with tenant_transaction(self._pool) as conn:
            row = await conn.fetchrow(
                f"""UPDATE stores SET
                        name = coalesce($1, name),
                        theme_id = coalesce($2, theme_id),
                        low_stock_threshold = coalesce($3, low_stock_threshold),
                        settings = coalesce($4::jsonb, settings),
                        updated_at = now()
                    WHERE id = $5
                    RETURNING {_STORE_COLUMNS}""",
                change.name,
                change.theme_id,
                change.low_stock_threshold,
                settings,
                require_store_id(),
            )
        if row is None:
            raise NotFound("store not found")
        return _store(row)
