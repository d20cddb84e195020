"""What a merchant does with collections: create, read, list, edit, delete, see the members.
Each call is one tenant transaction."""

from __future__ import annotations

import builtins
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.catalog.collections import repository as repo
from services.catalog.collections.repository import CollectionRow
from services.catalog.collections.rules import (
    CollectionDraft,
    RuleInput,
    check_description,
    check_product_ids,
    check_rules,
    check_sort,
    validate_collection,
)
from services.catalog.products.repository import PRODUCT_SELECT, ProductRow, product_from_row
from services.catalog.products.rules import check_handle, check_title
from services.common import cursor
from services.common.db import tenant_transaction
from services.common.errors import InvalidArgument, NotFound, Validator
from services.common.ids import parse_uuid
from services.common.tenancy import require_store_id

PATHS = frozenset(
    {"title", "handle", "description", "rules", "disjunctive", "product_ids", "sort", "published"}
)
LIST_KINDS: cursor.Kinds = {"title": (str, uuid.UUID)}
MEMBER_KINDS: cursor.Kinds = {"manual": (int, uuid.UUID), "newest": (datetime, uuid.UUID)}


@dataclass(frozen=True)
class CollectionPatch:
    """Only fields in `paths` change."""

    paths: frozenset[str]
    title: str = ""
    handle: str = ""
    description: str = ""
    rules: tuple[RuleInput, ...] = ()
    disjunctive: bool = False
    product_ids: tuple[str, ...] = ()
    sort: str = ""
    published: bool = True


class CollectionsAdmin:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(self, draft: CollectionDraft) -> CollectionRow:
        new = validate_collection(draft)
        store_id = require_store_id()
        async with tenant_transaction(self._pool) as conn:
            collection_id = await repo.insert(conn, store_id, new)
            if new.kind == "manual":
                await repo.set_manual_products(conn, store_id, collection_id, new.product_ids)
            else:
                await repo.recompute_automated(
                    conn, store_id, await repo.reread(conn, store_id, collection_id)
                )
            return await repo.reread(conn, store_id, collection_id)

    async def get(self, collection_id: str) -> CollectionRow:
        cid = parse_uuid(collection_id, "id")
        async with tenant_transaction(self._pool, readonly=True) as conn:
            return await repo.load(conn, require_store_id(), cid)

    async def list(self, size: int, page_token: str) -> tuple[builtins.list[CollectionRow], str]:
        after = cursor.decode(page_token, LIST_KINDS, {})[1] if page_token else None
        store_id = require_store_id()
        async with tenant_transaction(self._pool, readonly=True) as conn:
            if after is None:
                rows = await conn.fetch(
                    "SELECT id FROM collections WHERE store_id = $1 ORDER BY title, id LIMIT $2",
                    store_id,
                    size + 1,
                )
            else:
                rows = await conn.fetch(
                    "SELECT id FROM collections WHERE store_id = $1 AND (title, id) > ($2, $3)"
                    " ORDER BY title, id LIMIT $4",
                    store_id,
                    after[0],
                    after[1],
                    size + 1,
                )
            found = [await repo.reread(conn, store_id, r["id"]) for r in rows[:size]]
        token = ""
        if len(rows) > size:
            token = cursor.encode("title", {}, (found[-1].title, found[-1].id))
        return found, token

    async def update(self, collection_id: str, patch: CollectionPatch) -> CollectionRow:
        unknown = sorted(patch.paths - PATHS)
        if unknown:
            raise InvalidArgument.field(
                "update_mask", f"unknown path(s) {unknown}; allowed: {sorted(PATHS)}"
            )
        if not patch.paths:
            raise InvalidArgument.field("update_mask", "names no field to update")
        cid = parse_uuid(collection_id, "id")
        store_id = require_store_id()
        async with tenant_transaction(self._pool) as conn:
            current = await repo.load(conn, store_id, cid)
            v = Validator()
            changes: dict[str, object] = {}
            if "title" in patch.paths:
                changes["title"] = check_title(v, patch.title)
            if "handle" in patch.paths:
                changes["handle"] = check_handle(v, patch.handle)
            if "description" in patch.paths:
                changes["description"] = check_description(v, patch.description)
            if "rules" in patch.paths:
                changes["rules"] = repo.rules_json(check_rules(v, current.kind, patch.rules))
            if "disjunctive" in patch.paths:
                changes["disjunctive"] = patch.disjunctive
            if "sort" in patch.paths:
                changes["sort"] = check_sort(v, current.kind, patch.sort)
            if "published" in patch.paths:
                changes["published"] = patch.published
            ids = check_product_ids(v, current.kind, patch.product_ids)
            v.raise_if_any()
            new_handle = changes.pop("handle", None)
            if new_handle is not None and new_handle != current.handle:
                await repo.move_handle(conn, store_id, cid, current.handle, str(new_handle))
            if changes:
                columns = list(changes)
                assignments = ", ".join(
                    f"{c} = ${i}" + ("::jsonb" if c == "rules" else "")
                    for i, c in enumerate(columns, 3)
                )
                await conn.execute(
                    f"UPDATE collections SET {assignments}, updated_at = now()"
                    " WHERE store_id = $1 AND id = $2",
                    store_id,
                    cid,
                    *(changes[c] for c in columns),
                )
            else:
                await conn.execute(
                    "UPDATE collections SET updated_at = now() WHERE store_id = $1 AND id = $2",
                    store_id,
                    cid,
                )
            if current.kind == "automated" and {"rules", "disjunctive"} & patch.paths:
                await repo.recompute_automated(
                    conn, store_id, await repo.reread(conn, store_id, cid)
                )
            if current.kind == "manual" and "product_ids" in patch.paths:
                await repo.set_manual_products(conn, store_id, cid, ids)
            return await repo.reread(conn, store_id, cid)

    async def delete(self, collection_id: str) -> None:
        cid = parse_uuid(collection_id, "id")
        async with tenant_transaction(self._pool) as conn:
            deleted = await conn.fetchval(
                "DELETE FROM collections WHERE store_id = $1 AND id = $2 RETURNING 1",
                require_store_id(),
                cid,
            )
        if not deleted:
            raise NotFound(repo.NOT_FOUND)

    async def members(
        self, collection_id: str, size: int, page_token: str
    ) -> tuple[builtins.list[ProductRow], str]:
        """Every member whatever its status: manual in the merchant's order, else newest."""
        cid = parse_uuid(collection_id, "id")
        store_id = require_store_id()
        filters = {"collection": str(cid)}
        async with tenant_transaction(self._pool, readonly=True) as conn:
            collection = await repo.load(conn, store_id, cid)
            kind = "manual" if collection.kind == "manual" else "newest"
            after = None
            if page_token:
                _, after = cursor.decode(page_token, {kind: MEMBER_KINDS[kind]}, filters)
            key, direction, op = (
                ("c.position", "ASC", ">") if kind == "manual" else ("c.created_at", "DESC", "<")
            )
            where = "c.store_id = $1 AND c.collection_id = $2"
            args: list[object] = [store_id, cid]
            if after is not None:
                where += f" AND ({key}, c.product_id) {op} ($3, $4)"
                args += [after[0], after[1]]
            args.append(size + 1)
            rows = await conn.fetch(
                f"SELECT k.sort_key, x.* FROM (SELECT c.product_id AS id, {key} AS sort_key"
                f" FROM collection_products c WHERE {where}"
                f" ORDER BY {key} {direction}, c.product_id {direction} LIMIT ${len(args)}) k"
                f" CROSS JOIN LATERAL ({PRODUCT_SELECT} WHERE p.store_id = $1 AND p.id = k.id) x"
                f" ORDER BY k.sort_key {direction}, k.id {direction}",
                *args,
            )
        products = [product_from_row(r) for r in rows[:size]]
        token = ""
        if len(rows) > size:
            last = rows[size - 1]
            token = cursor.encode(kind, filters, (last["sort_key"], last["id"]))
        return products, token
