"""Collections in PostgreSQL, always through tenant transactions naming their store.

Members live in collection_products for both kinds. A manual collection's list is written here;
an automated one's is recomputed here when its rules change, and followed by the products
trigger of migration 0014 whenever a product changes, in the product's own transaction. Both
sides take the store's collections lock (exclusive here, shared in the trigger), so neither
can miss the other's change."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.catalog.collections.rules import NewCollection, Rule, rules_condition
from services.common.db import fetch_one
from services.common.errors import AlreadyExists, InvalidArgument, NotFound

NOT_FOUND = "no collection with this id in this store"
_COLUMNS = """id, handle, title, description, kind, rules::text AS rules, disjunctive, sort,
    published, created_at, updated_at"""


@dataclass(frozen=True)
class CollectionRow:
    id: uuid.UUID
    handle: str
    title: str
    description: str
    kind: str
    rules: tuple[Rule, ...]
    disjunctive: bool
    sort: str
    published: bool
    created_at: datetime
    updated_at: datetime


def collection_from_row(row: asyncpg.Record) -> CollectionRow:
    return CollectionRow(
        id=row["id"],
        handle=row["handle"],
        title=row["title"],
        description=row["description"],
        kind=row["kind"],
        rules=tuple(Rule(r["field"], r["relation"], r["value"]) for r in json.loads(row["rules"])),
        disjunctive=row["disjunctive"],
        sort=row["sort"],
        published=row["published"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def rules_json(rules: tuple[Rule, ...]) -> str:
    return json.dumps([r.as_json() for r in rules])


async def lock_collections(conn: asyncpg.Connection, store_id: int) -> None:
    """The store's collections lock, exclusively, until the transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock(1400, collections_lock_key($1))", store_id)


async def load(conn: asyncpg.Connection, store_id: int, collection_id: uuid.UUID) -> CollectionRow:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM collections WHERE store_id = $1 AND id = $2",
        store_id,
        collection_id,
    )
    if row is None:
        raise NotFound(NOT_FOUND)
    return collection_from_row(row)


async def insert(conn: asyncpg.Connection, store_id: int, new: NewCollection) -> uuid.UUID:
    insert_sql = """INSERT INTO collections (store_id, handle, title, description, kind, rules,
                                             disjunctive, sort, published)
                    VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9)
                    ON CONFLICT ON CONSTRAINT collections_handle_key DO NOTHING
                    RETURNING id"""
    handle = new.handle
    for suffix in range(2, 102):
        collection_id = await conn.fetchval(
            insert_sql,
            store_id,
            handle,
            new.title,
            new.description,
            new.kind,
            rules_json(new.rules),
            new.disjunctive,
            new.sort,
            new.published,
        )
        if collection_id is not None:
            # A live handle wins over an old one that redirected elsewhere.
            await conn.execute(
                "DELETE FROM collection_handle_redirects WHERE store_id = $1 AND handle = $2",
                store_id,
                handle,
            )
            return collection_id
        if not new.handle_generated:
            raise AlreadyExists(
                f"handle: '{handle}' is already used by another collection of this store"
            )
        handle = f"{new.handle}-{suffix}"
    raise AlreadyExists("handle: too many collections share this title; set a handle")


async def move_handle(
    conn: asyncpg.Connection, store_id: int, collection_id: uuid.UUID, old: str, new: str
) -> None:
    taken = await conn.fetchval(
        "SELECT 1 FROM collections WHERE store_id = $1 AND handle = $2", store_id, new
    )
    if taken:
        raise AlreadyExists(f"handle: '{new}' is already used by another collection of this store")
    await conn.execute(
        "DELETE FROM collection_handle_redirects WHERE store_id = $1 AND handle = $2",
        store_id,
        new,
    )
    try:
        async with conn.transaction():  # savepoint: a racing creator keeps a clean error
            await conn.execute(
                "UPDATE collections SET handle = $3 WHERE store_id = $1 AND id = $2",
                store_id,
                collection_id,
                new,
            )
    except asyncpg.UniqueViolationError:
        raise AlreadyExists(
            f"handle: '{new}' is already used by another collection of this store"
        ) from None
    await conn.execute(
        """INSERT INTO collection_handle_redirects (store_id, handle, collection_id)
           VALUES ($1, $2, $3)
           ON CONFLICT ON CONSTRAINT collection_handle_redirects_pkey
           DO UPDATE SET collection_id = EXCLUDED.collection_id""",
        store_id,
        old,
        collection_id,
    )


_MEMBER_COLUMNS = "status, created_at, title_key, min_price, max_price, available"


async def set_manual_products(
    conn: asyncpg.Connection, store_id: int, collection_id: uuid.UUID, ids: tuple[uuid.UUID, ...]
) -> None:
    """Replaces the manual list (positions 1..n in the given order); every id must be a product
    of this store."""
    await lock_collections(conn, store_id)
    if ids:
        found = {
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM products WHERE store_id = $1 AND id = ANY($2::uuid[])",
                store_id,
                list(ids),
            )
        }
        missing = [i for i, pid in enumerate(ids) if pid not in found]
        if missing:
            raise InvalidArgument.field(
                f"product_ids[{missing[0]}]",
                f"no product with id {ids[missing[0]]} in this store"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
            )
    await conn.execute(
        "DELETE FROM collection_products WHERE store_id = $1 AND collection_id = $2",
        store_id,
        collection_id,
    )
    await conn.execute(
        f"""INSERT INTO collection_products (store_id, collection_id, product_id, position,
                                             {_MEMBER_COLUMNS})
            SELECT p.store_id, $2, p.id, u.position, p.status, p.created_at, p.title_key,
                   p.min_price, p.max_price, p.available
            FROM unnest($3::uuid[]) WITH ORDINALITY AS u(id, position)
            JOIN products p ON p.store_id = $1 AND p.id = u.id""",
        store_id,
        collection_id,
        list(ids),
    )


async def recompute_automated(
    conn: asyncpg.Connection, store_id: int, collection: CollectionRow
) -> None:
    """Every product of the store its (just written) rules match; one statement over the
    store's products."""
    await lock_collections(conn, store_id)
    await conn.execute(
        "DELETE FROM collection_products WHERE store_id = $1 AND collection_id = $2",
        store_id,
        collection.id,
    )
    condition, params = rules_condition(collection.rules, collection.disjunctive, 3)
    await conn.execute(
        f"""INSERT INTO collection_products (store_id, collection_id, product_id,
                                             {_MEMBER_COLUMNS})
            SELECT p.store_id, $2, p.id, p.status, p.created_at, p.title_key, p.min_price,
                   p.max_price, p.available
            FROM products p
            WHERE p.store_id = $1 AND {condition}""",
        store_id,
        collection.id,
        *params,
    )


async def reread(
    conn: asyncpg.Connection, store_id: int, collection_id: uuid.UUID
) -> CollectionRow:
    row = await fetch_one(
        conn,
        f"SELECT {_COLUMNS} FROM collections WHERE store_id = $1 AND id = $2",
        store_id,
        collection_id,
    )
    return collection_from_row(row)
