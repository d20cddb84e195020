"""Shoppers' reads of collections: the published ones by title, and one collection's active
products, paged with the storefront's sorts and filters (listing.py) over collection_products,
whose rows carry each product's sort keys."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

import asyncpg

from services.catalog.collections import repository as repo
from services.catalog.collections.repository import CollectionRow
from services.catalog.storefront.listing import KINDS, ListCriteria, Source, list_sql
from services.catalog.storefront.queries import Page, to_page
from services.common import cursor
from services.common.db import tenant_transaction
from services.common.errors import InvalidArgument, NotFound
from services.common.tenancy import require_store_id

LIST_KINDS: cursor.Kinds = {"title": (str, uuid.UUID)}
_NOT_FOUND = "no published collection with this handle in this store"


@dataclass(frozen=True)
class CollectionPage:
    collection: CollectionRow
    page: Page


class StorefrontCollections:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def list(self, size: int, page_token: str) -> tuple[list[CollectionRow], str]:
        after = cursor.decode(page_token, LIST_KINDS, {})[1] if page_token else None
        store_id = require_store_id()
        where = "store_id = $1 AND published"
        args: list[object] = [store_id]
        if after is not None:
            where += " AND (title, id) > ($2, $3)"
            args += [after[0], after[1]]
        args.append(size + 1)
        async with tenant_transaction(self._pool, readonly=True) as conn:
            rows = await conn.fetch(
                f"SELECT id FROM collections WHERE {where} ORDER BY title, id LIMIT ${len(args)}",
                *args,
            )
            found = [await repo.reread(conn, store_id, r["id"]) for r in rows[:size]]
        token = ""
        if len(rows) > size:
            token = cursor.encode("title", {}, (found[-1].title, found[-1].id))
        return found, token

    async def page(
        self, handle: str, criteria: ListCriteria, size: int, page_token: str
    ) -> CollectionPage:
        """`criteria.sort` "": the collection's own sort."""
        store_id = require_store_id()
        async with tenant_transaction(self._pool, readonly=True) as conn:
            collection = await self._by_handle(conn, store_id, handle)
            if not criteria.sort:
                criteria = replace(criteria, sort=collection.sort)
            elif criteria.sort == "manual" and collection.kind != "manual":
                raise InvalidArgument.field(
                    "sort", "MANUAL is the order of manual collections only"
                )
            filters = {**criteria.filters, "collection": str(collection.id)}
            after = None
            if page_token:
                _, after = cursor.decode(page_token, {criteria.sort: KINDS[criteria.sort]}, filters)
            sql, values = list_sql(
                store_id,
                criteria,
                after,
                size + 1,
                Source("collection_products p", "product_id", ("collection_id", collection.id)),
            )
            rows = await conn.fetch(sql, *values)
        return CollectionPage(collection, to_page(rows, size, criteria.sort, filters))

    async def _by_handle(
        self, conn: asyncpg.Connection, store_id: int, handle: str
    ) -> CollectionRow:
        cid = await conn.fetchval(
            "SELECT id FROM collections WHERE store_id = $1 AND handle = $2 AND published",
            store_id,
            handle,
        )
        if cid is None:
            cid = await conn.fetchval(
                "SELECT k.id FROM collection_handle_redirects r JOIN collections k"
                " ON k.store_id = r.store_id AND k.id = r.collection_id"
                " WHERE r.store_id = $1 AND r.handle = $2 AND k.published",
                store_id,
                handle,
            )
        if cid is None:
            raise NotFound(_NOT_FOUND)
        return await repo.reread(conn, store_id, cid)
