"""Merchant edits to products and variants (everything but stock levels), each in one tenant
transaction, validated by the same rules as creation."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import asyncpg

from services.catalog.products.repository import (
    PRODUCT_SELECT,
    ProductRow,
    images_json,
    product_from_row,
)
from services.catalog.products.rules import (
    ImageInput,
    MoneyInput,
    VariantDraft,
    check_description,
    check_handle,
    check_images,
    check_options,
    check_status,
    check_tags,
    check_text,
    check_title,
    check_variant,
)
from services.common.db import tenant_transaction, transaction_store
from services.common.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Validator,
)
from services.common.ids import parse_uuid

PRODUCT_PATHS = frozenset(
    {
        "title",
        "handle",
        "description",
        "status",
        "options",
        "images",
        "tags",
        "product_type",
        "vendor",
    }
)
VARIANT_PATHS = frozenset(
    {
        "sku",
        "title",
        "price",
        "compare_at_price",
        "inventory_policy",
        "option_values",
        "weight_grams",
    }
)
_PRODUCT_NOT_FOUND = "no product with this id in this store"
_VARIANT_NOT_FOUND = "no variant with this id in this store"


@dataclass(frozen=True)
class ProductPatch:
    """Only fields in `paths` change; the others keep their current value."""

    paths: frozenset[str]
    title: str = ""
    handle: str = ""
    description: str = ""
    status: str = ""
    options: tuple[str, ...] = ()
    images: tuple[ImageInput, ...] = ()
    tags: tuple[str, ...] = ()
    product_type: str = ""
    vendor: str = ""


@dataclass(frozen=True)
class VariantPatch:
    paths: frozenset[str]
    sku: str = ""
    title: str = ""
    price: MoneyInput | None = None
    compare_at_price: MoneyInput | None = None
    inventory_policy: str = ""
    option_values: tuple[str, ...] = ()
    weight_grams: int | None = None


def check_paths(paths: frozenset[str], allowed: frozenset[str]) -> None:
    unknown = sorted(paths - allowed)
    if unknown:
        raise InvalidArgument.field(
            "update_mask", f"unknown path(s) {unknown}; allowed: {sorted(allowed)}"
        )
    if not paths:
        raise InvalidArgument.field("update_mask", "names no field to update")


async def _product(conn: asyncpg.Connection, product_id: uuid.UUID) -> ProductRow:
    row = await conn.fetchrow(
        PRODUCT_SELECT + "WHERE p.store_id = $2 AND p.id = $1",
        product_id,
        await transaction_store(conn),
    )
    if row is None:
        raise NotFound(_PRODUCT_NOT_FOUND)
    return product_from_row(row)


async def _touch(conn: asyncpg.Connection, product_id: uuid.UUID) -> ProductRow:
    await conn.execute(
        "UPDATE products SET updated_at = now() WHERE store_id = $2 AND id = $1",
        product_id,
        await transaction_store(conn),
    )
    return await _product(conn, product_id)


class ProductWrites:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def update_product(self, product_id: str, patch: ProductPatch) -> ProductRow:
        check_paths(patch.paths, PRODUCT_PATHS)
        pid = parse_uuid(product_id, "id")
        async with tenant_transaction(self._pool) as conn:
            current = await _product(conn, pid)
            v = Validator()
            changes: dict[str, object] = {}
            if "title" in patch.paths:
                changes["title"] = check_title(v, patch.title)
            if "handle" in patch.paths:
                changes["handle"] = check_handle(v, patch.handle)
            if "description" in patch.paths:
                changes["description"] = check_description(v, patch.description)
            if "status" in patch.paths:
                changes["status"] = check_status(v, patch.status)
            if "options" in patch.paths:
                options = check_options(v, patch.options)
                v.check(
                    len(options) == len(current.options),
                    "options",
                    f"must keep {len(current.options)} option(s): each variant holds one value"
                    " per option; rename them here, add or remove variants instead",
                )
                changes["options"] = list(options)
            if "images" in patch.paths:
                changes["images"] = images_json(check_images(v, patch.images))
            if "tags" in patch.paths:
                changes["tags"] = list(check_tags(v, patch.tags))
            if "product_type" in patch.paths:
                changes["product_type"] = check_text(v, "product_type", patch.product_type)
            if "vendor" in patch.paths:
                changes["vendor"] = check_text(v, "vendor", patch.vendor)
            v.raise_if_any()
            new_handle = changes.get("handle")
            if new_handle is not None and new_handle != current.handle:
                await self._move_handle(conn, pid, current.handle, str(new_handle))
            columns = [c for c in changes if c != "handle"]
            if columns:
                assignments = ", ".join(
                    f"{c} = ${i}" + ("::jsonb" if c == "images" else "")
                    for i, c in enumerate(columns, 2)
                )
                await conn.execute(
                    f"UPDATE products SET {assignments}, updated_at = now()"
                    f" WHERE store_id = ${len(columns) + 2} AND id = $1",
                    pid,
                    *(changes[c] for c in columns),
                    await transaction_store(conn),
                )
            return await _touch(conn, pid)

    async def _move_handle(
        self, conn: asyncpg.Connection, pid: uuid.UUID, old: str, new: str
    ) -> None:
        store = await transaction_store(conn)
        taken = await conn.fetchval(
            "SELECT 1 FROM products WHERE store_id = $2 AND handle = $1", new, store
        )
        if taken:
            raise AlreadyExists(f"handle: '{new}' is already used by another product of this store")
        # The new live handle replaces any redirect it had; the old one now redirects here.
        await conn.execute(
            "DELETE FROM product_handle_redirects WHERE store_id = $2 AND handle = $1", new, store
        )
        try:
            async with conn.transaction():  # savepoint: a racing creator keeps a clean error
                await conn.execute(
                    "UPDATE products SET handle = $2 WHERE store_id = $3 AND id = $1",
                    pid,
                    new,
                    store,
                )
        except asyncpg.UniqueViolationError:
            raise AlreadyExists(
                f"handle: '{new}' is already used by another product of this store"
            ) from None
        await conn.execute(
            """INSERT INTO product_handle_redirects (store_id, handle, product_id)
               VALUES ($3, $1, $2)
               ON CONFLICT (store_id, handle) DO UPDATE SET product_id = EXCLUDED.product_id""",
            old,
            pid,
            store,
        )

    async def set_status(
        self, product_id: str, status: str, *, only_from: str | None
    ) -> ProductRow:
        pid = parse_uuid(product_id, "id")
        async with tenant_transaction(self._pool) as conn:
            current = await _product(conn, pid)
            if only_from is not None and current.status != only_from:
                raise FailedPrecondition(
                    f"product is {current.status}; only an {only_from} product can be unarchived"
                )
            await conn.execute(
                "UPDATE products SET status = $2, updated_at = now()"
                " WHERE store_id = $3 AND id = $1",
                pid,
                status,
                await transaction_store(conn),
            )
            return await _product(conn, pid)

    async def delete_product(self, product_id: str) -> None:
        pid = parse_uuid(product_id, "id")
        async with tenant_transaction(self._pool) as conn:
            deleted = await conn.fetchval(
                "DELETE FROM products WHERE store_id = $2 AND id = $1 RETURNING 1",
                pid,
                await transaction_store(conn),
            )
            if not deleted:
                raise NotFound(_PRODUCT_NOT_FOUND)

    async def create_variant(self, product_id: str, draft: VariantDraft) -> tuple[ProductRow, str]:
        pid = parse_uuid(product_id, "product_id")
        async with tenant_transaction(self._pool) as conn:
            product = await _product(conn, pid)
            # FOR SHARE: a currency change (StoreAdmin.ChangeCurrency) waits for this product,
            # or this product waits for it and gets the new currency.
            store = await transaction_store(conn)
            currency = await conn.fetchval(
                "SELECT currency FROM stores WHERE id = $1 FOR SHARE", store
            )
            if len(product.variants) >= 100:
                raise FailedPrecondition("a product has at most 100 variants")
            v = Validator()
            position = max((x.position for x in product.variants), default=0) + 1
            new = check_variant(v, "variant", position, draft, product.options, currency)
            v.raise_if_any()
            await self._check_distinct(conn, product, new.sku, new.option_values, None)
            variant_id = await conn.fetchval(
                """INSERT INTO variants (store_id, product_id, position, sku, title, price,
                       compare_at_price, currency, inventory_quantity, inventory_policy, options,
                       weight_grams)
                   VALUES ($11, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $12)
                   RETURNING id""",
                pid,
                new.position,
                new.sku,
                new.title,
                new.price,
                new.compare_at_price,
                currency,
                new.inventory_quantity,
                new.inventory_policy,
                json.dumps(list(new.option_values)),
                store,
                new.weight_grams,
            )
            return await _touch(conn, pid), str(variant_id)

    async def update_variant(self, variant_id: str, patch: VariantPatch) -> tuple[ProductRow, str]:
        check_paths(patch.paths, VARIANT_PATHS)
        vid = parse_uuid(variant_id, "id")
        async with tenant_transaction(self._pool) as conn:
            store = await transaction_store(conn)
            pid = await conn.fetchval(
                "SELECT product_id FROM variants WHERE store_id = $2 AND id = $1", vid, store
            )
            if pid is None:
                raise NotFound(_VARIANT_NOT_FOUND)
            product = await _product(conn, pid)
            current = next(x for x in product.variants if x.id == vid)
            currency = current.currency
            merged = VariantDraft(
                sku=patch.sku if "sku" in patch.paths else (current.sku or ""),
                title=patch.title if "title" in patch.paths else current.title,
                price=patch.price
                if "price" in patch.paths
                else MoneyInput(current.price, currency),
                compare_at_price=patch.compare_at_price
                if "compare_at_price" in patch.paths
                else (
                    MoneyInput(current.compare_at_price, currency)
                    if current.compare_at_price is not None
                    else None
                ),
                inventory_quantity=current.inventory_quantity,
                inventory_policy=patch.inventory_policy
                if "inventory_policy" in patch.paths
                else current.inventory_policy,
                option_values=patch.option_values
                if "option_values" in patch.paths
                else current.option_values,
                weight_grams=patch.weight_grams
                if "weight_grams" in patch.paths
                else current.weight_grams,
            )
            v = Validator()
            new = check_variant(v, "variant", current.position, merged, product.options, currency)
            v.raise_if_any()
            if new.inventory_quantity < 0 and new.inventory_policy == "deny":
                raise FailedPrecondition(
                    f"variant has {new.inventory_quantity} in stock (backorders); set stock to"
                    " 0 or more before switching inventory_policy to DENY"
                )
            await self._check_distinct(conn, product, new.sku, new.option_values, vid)
            await conn.execute(
                """UPDATE variants SET sku = $2, title = $3, price = $4, compare_at_price = $5,
                       inventory_policy = $6, options = $7::jsonb, weight_grams = $9,
                       version = version + 1, updated_at = now()
                   WHERE store_id = $8 AND id = $1""",
                vid,
                new.sku,
                new.title,
                new.price,
                new.compare_at_price,
                new.inventory_policy,
                json.dumps(list(new.option_values)),
                store,
                new.weight_grams,
            )
            return await _touch(conn, pid), str(vid)

    async def _check_distinct(
        self,
        conn: asyncpg.Connection,
        product: ProductRow,
        sku: str | None,
        option_values: tuple[str, ...],
        exclude: uuid.UUID | None,
    ) -> None:
        if sku is not None:
            clash = await conn.fetchval(
                "SELECT 1 FROM variants"
                " WHERE store_id = $3 AND sku = $1 AND id IS DISTINCT FROM $2",
                sku,
                exclude,
                await transaction_store(conn),
            )
            if clash:
                raise AlreadyExists(f"variant.sku: '{sku}' is already used in this store")
        if product.options:
            key = tuple(x.lower() for x in option_values)
            for other in product.variants:
                if other.id != exclude and tuple(x.lower() for x in other.option_values) == key:
                    raise AlreadyExists(
                        f"variant.option_values: another variant already has {list(option_values)}"
                    )

    async def delete_variant(self, variant_id: str) -> None:
        vid = parse_uuid(variant_id, "id")
        async with tenant_transaction(self._pool) as conn:
            store = await transaction_store(conn)
            pid = await conn.fetchval(
                "SELECT product_id FROM variants WHERE store_id = $2 AND id = $1 FOR UPDATE",
                vid,
                store,
            )
            if pid is None:
                raise NotFound(_VARIANT_NOT_FOUND)
            # Lock the product's variants so two deletes cannot both leave it with none.
            remaining = await conn.fetchval(
                "SELECT count(*) FROM (SELECT 1 FROM variants"
                " WHERE store_id = $2 AND product_id = $1 FOR UPDATE) x",
                pid,
                store,
            )
            if remaining <= 1:
                raise FailedPrecondition(
                    "a product keeps at least one variant; delete the product instead"
                )
            await conn.execute("DELETE FROM variants WHERE store_id = $2 AND id = $1", vid, store)
            await _touch(conn, pid)
