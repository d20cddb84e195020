"""Products and variants in PostgreSQL, always through tenant transactions."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.catalog.products.rules import (
    Image,
    NewProduct,
    ProductDraft,
    is_available,
    validate_product,
)
from services.common.db import fetch_one, tenant_transaction, transaction_store
from services.common.errors import AlreadyExists, FailedPrecondition, FieldViolation, NotFound
from services.common.ids import parse_uuid


@dataclass(frozen=True)
class VariantRow:
    id: uuid.UUID
    sku: str | None
    title: str
    price: int
    compare_at_price: int | None
    currency: str
    inventory_quantity: int
    inventory_policy: str
    option_values: tuple[str, ...]
    position: int
    version: int
    weight_grams: int | None = None

    @property
    def available(self) -> bool:
        return is_available(self.inventory_quantity, self.inventory_policy)


@dataclass(frozen=True)
class ProductRow:
    id: uuid.UUID
    handle: str
    title: str
    description: str
    status: str
    options: tuple[str, ...]
    variants: tuple[VariantRow, ...]
    created_at: datetime
    updated_at: datetime
    images: tuple[Image, ...] = ()
    tags: tuple[str, ...] = ()
    product_type: str = ""
    vendor: str = ""


# Variants ride along as one array of anonymous records: one query per product page, one
# round trip for the hot storefront read.
PRODUCT_SELECT = """
SELECT p.id, p.handle, p.title, p.description, p.status, p.options, p.created_at, p.updated_at,
       p.images::text AS images, p.tags, p.product_type, p.vendor,
       ARRAY(SELECT ROW(v.id, v.sku, v.title, v.price, v.compare_at_price, v.currency,
                        v.inventory_quantity, v.inventory_policy, v.options::text, v.position,
                        v.version, v.weight_grams)
             FROM variants v
             WHERE v.store_id = p.store_id AND v.product_id = p.id
             ORDER BY v.position) AS variants
FROM products p
"""


def row_weight(row: asyncpg.Record) -> int:
    """A product row's large text, for a page's budget (services.common.cursor.rows_within):
    the description and image list, plus an allowance for the bounded rest."""
    return len(row["description"]) + len(row["images"] or "") + 4096


def product_from_row(row: asyncpg.Record) -> ProductRow:
    return ProductRow(
        id=row["id"],
        handle=row["handle"],
        title=row["title"],
        description=row["description"],
        status=row["status"],
        options=tuple(row["options"]),
        variants=tuple(
            VariantRow(
                id=v[0],
                sku=v[1],
                title=v[2],
                price=v[3],
                compare_at_price=v[4],
                currency=v[5],
                inventory_quantity=v[6],
                inventory_policy=v[7],
                option_values=tuple(json.loads(v[8])),
                position=v[9],
                version=v[10],
                weight_grams=v[11],
            )
            for v in row["variants"]
        ),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        images=tuple(Image(**image) for image in json.loads(row["images"])),
        tags=tuple(row["tags"]),
        product_type=row["product_type"],
        vendor=row["vendor"],
    )


def images_json(images: tuple[Image, ...]) -> str:
    return json.dumps(
        [{"url": i.url, "alt_text": i.alt_text, "position": i.position} for i in images]
    )


class CatalogRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create_product(self, draft: ProductDraft) -> ProductRow:
        async with tenant_transaction(self._pool) as conn:
            # FOR SHARE: a currency change (StoreAdmin.ChangeCurrency) waits for this product,
            # or this product waits for it and gets the new currency.
            store = await transaction_store(conn)
            currency = await conn.fetchval(
                "SELECT currency FROM stores WHERE id = $1 FOR SHARE", store
            )
            if currency is None:
                raise FailedPrecondition("this store no longer exists")
            product = validate_product(draft, currency)
            await self._check_skus_free(conn, product)
            product_id = await self._insert_product(conn, product)
            try:
                await self._insert_variants(conn, product_id, product, currency)
            except asyncpg.UniqueViolationError:
                # A concurrent writer took a SKU between the check and the insert.
                raise AlreadyExists(
                    "variants: a SKU was just taken by another variant of this store; retry"
                ) from None
            row = await fetch_one(
                conn, PRODUCT_SELECT + "WHERE p.store_id = $2 AND p.id = $1", product_id, store
            )
        return product_from_row(row)

    async def _check_skus_free(self, conn: asyncpg.Connection, product: NewProduct) -> None:
        skus = [v.sku for v in product.variants if v.sku]
        if not skus:
            return
        taken = {
            r["sku"]
            for r in await conn.fetch(
                "SELECT sku FROM variants WHERE store_id = $2 AND sku = ANY($1::text[])",
                skus,
                await transaction_store(conn),
            )
        }
        violations = [
            FieldViolation(f"variants[{i}].sku", f"'{v.sku}' is already used in this store")
            for i, v in enumerate(product.variants)
            if v.sku in taken
        ]
        if violations:
            raise AlreadyExists("; ".join(f"{x.field}: {x.description}" for x in violations))

    async def _insert_variants(
        self, conn: asyncpg.Connection, product_id: uuid.UUID, product: NewProduct, currency: str
    ) -> None:
        store = await transaction_store(conn)
        await conn.executemany(
            """INSERT INTO variants (store_id, product_id, position, sku, title, price,
                       compare_at_price, currency, inventory_quantity, inventory_policy, options,
                       weight_grams)
                   VALUES ($11, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $12)""",
            [
                (
                    product_id,
                    v.position,
                    v.sku,
                    v.title,
                    v.price,
                    v.compare_at_price,
                    currency,
                    v.inventory_quantity,
                    v.inventory_policy,
                    json.dumps(list(v.option_values)),
                    store,
                    v.weight_grams,
                )
                for v in product.variants
            ],
        )

    async def _insert_product(self, conn: asyncpg.Connection, product: NewProduct) -> uuid.UUID:
        insert = """INSERT INTO products (store_id, handle, title, description, status, options,
                                          images, tags, product_type, vendor)
                    VALUES ($10, $1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9)
                    ON CONFLICT (store_id, handle) DO NOTHING
                    RETURNING id"""
        handle = product.handle
        store = await transaction_store(conn)
        for suffix in range(2, 102):
            product_id = await conn.fetchval(
                insert,
                handle,
                product.title,
                product.description,
                product.status,
                list(product.options),
                images_json(product.images),
                list(product.tags),
                product.product_type,
                product.vendor,
                store,
            )
            if product_id is not None:
                # A live handle wins over an old one that redirected elsewhere.
                await conn.execute(
                    "DELETE FROM product_handle_redirects WHERE store_id = $2 AND handle = $1",
                    handle,
                    store,
                )
                return product_id
            if not product.handle_generated:
                raise AlreadyExists(
                    f"handle: '{handle}' is already used by another product of this store"
                )
            handle = f"{product.handle}-{suffix}"
        raise AlreadyExists("handle: too many products share this title; set a handle")

    async def get_product(self, product_id: str) -> ProductRow:
        pid = parse_uuid(product_id, "id")
        async with tenant_transaction(self._pool, readonly=True) as conn:
            row = await conn.fetchrow(
                PRODUCT_SELECT + "WHERE p.store_id = $2 AND p.id = $1",
                pid,
                await transaction_store(conn),
            )
        if row is None:
            raise NotFound("no product with this id in this store")
        return product_from_row(row)

    async def active_product_by_handle(self, handle: str) -> ProductRow:
        """By current handle, else by an old handle the product was renamed from (the response
        carries the current handle, so the storefront can redirect to it)."""
        async with tenant_transaction(self._pool, readonly=True) as conn:
            store = await transaction_store(conn)
            row = await conn.fetchrow(
                PRODUCT_SELECT + "WHERE p.store_id = $2 AND p.handle = $1 AND p.status = 'active'",
                handle,
                store,
            )
            if row is None:
                row = await conn.fetchrow(
                    PRODUCT_SELECT + "JOIN product_handle_redirects r"
                    " ON r.store_id = p.store_id AND r.product_id = p.id"
                    " WHERE r.store_id = $2 AND r.handle = $1 AND p.status = 'active'",
                    handle,
                    store,
                )
        if row is None:
            raise NotFound("no active product with this handle in this store")
        return product_from_row(row)
