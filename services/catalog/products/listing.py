"""The merchant's product list (every status) and the SKU lookup, in tenant transactions.

Newest first walks products_admin_newest (or products_admin_status with a status filter), by
title products_admin_title; the tag, type, vendor and text filters are tested on the rows the
walk reads (an admin list, not a storefront path: the cost of a rare filter follows the
store's catalog, which the storefront's paths never do)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.catalog.products.repository import (
    PRODUCT_SELECT,
    ProductRow,
    VariantRow,
    product_from_row,
    row_weight,
)
from services.catalog.products.rules import AdminQuery
from services.common import cursor
from services.common.db import tenant_transaction
from services.common.errors import InvalidArgument, NotFound
from services.common.tenancy import require_store_id

KINDS: cursor.Kinds = {"newest": (datetime, uuid.UUID), "title": (str, uuid.UUID)}
_KEYS = {"newest": ("p.created_at", "DESC"), "title": ("p.title_key", "ASC")}
# Above every character a SKU may hold: "ab" <= sku < "ab" + this finds the SKUs starting with
# "ab" through the (store_id, sku) index (range comparisons are leakproof; LIKE is not).
_TOP = "\U0010ffff"


def admin_list_sql(
    store_id: int, q: AdminQuery, after: tuple[cursor.KeyPart, ...] | None, limit: int
) -> tuple[str, list[object]]:
    args: list[object] = [store_id]

    def add(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    key, direction = _KEYS[q.sort]
    where = ["p.store_id = $1"]
    if q.status:
        where.append(f"p.status = {add(q.status)}")
    if q.tag:
        where.append(f"EXISTS (SELECT 1 FROM unnest(p.tags) t WHERE lower(t) = {add(q.tag)})")
    if q.product_type:
        where.append(f"lower(p.product_type) = {add(q.product_type)}")
    if q.vendor:
        where.append(f"lower(p.vendor) = {add(q.vendor)}")
    if q.query:
        where.append(
            f"(strpos(p.title_key, {add(q.query.lower())}) > 0 OR EXISTS ("
            "SELECT 1 FROM variants v WHERE v.store_id = $1 AND v.product_id = p.id"
            f" AND v.sku >= {add(q.query)} AND v.sku < {add(q.query + _TOP)}))"
        )
    if after is not None:
        op = "<" if direction == "DESC" else ">"
        where.append(f"({key}, p.id) {op} ({add(after[0])}, {add(after[1])})")
    keys = (
        f"SELECT p.id, {key} AS sort_key FROM products p WHERE {' AND '.join(where)} "
        f"ORDER BY {key} {direction}, p.id {direction} LIMIT {add(limit)}"
    )
    sql = (
        f"SELECT k.sort_key, x.* FROM ({keys}) k CROSS JOIN LATERAL ("
        f"{PRODUCT_SELECT} WHERE p.store_id = $1 AND p.id = k.id) x "
        f"ORDER BY k.sort_key {direction}, k.id {direction}"
    )
    return sql, args


class ProductListing:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def list(self, q: AdminQuery, size: int, page_token: str) -> tuple[list[ProductRow], str]:
        after = None
        if page_token:
            _, after = cursor.decode(page_token, {q.sort: KINDS[q.sort]}, q.filters)
        sql, args = admin_list_sql(require_store_id(), q, after, size + 1)
        async with tenant_transaction(self._pool, readonly=True) as conn:
            rows = await conn.fetch(sql, *args)
        kept = cursor.rows_within(rows, size, row_weight)
        products = [product_from_row(r) for r in rows[:kept]]
        token = ""
        if len(rows) > kept:
            last = rows[kept - 1]
            token = cursor.encode(q.sort, q.filters, (last["sort_key"], last["id"]))
        return products, token

    async def variant_by_sku(self, sku: str) -> tuple[ProductRow, VariantRow]:
        sku = sku.strip()
        if not sku:
            raise InvalidArgument.field("sku", "is required")
        if len(sku) > 64 or "\x00" in sku:
            raise InvalidArgument.field("sku", "must be at most 64 characters, without NUL")
        store_id = require_store_id()
        async with tenant_transaction(self._pool, readonly=True) as conn:
            row = await conn.fetchrow(
                PRODUCT_SELECT + "JOIN variants s ON s.store_id = p.store_id"
                " AND s.product_id = p.id WHERE p.store_id = $1 AND s.sku = $2",
                store_id,
                sku,
            )
        if row is None:
            raise NotFound(f"sku: no variant with SKU '{sku}' in this store")
        product = product_from_row(row)
        return product, next(v for v in product.variants if v.sku == sku)
