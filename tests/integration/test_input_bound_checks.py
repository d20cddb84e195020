"""The database holds the same text bounds as validation (migrations/0019a__input_bounds.sql):
a write that skipped validation still cannot store an oversized field."""

from __future__ import annotations

import asyncpg
import pytest

from services.common import limits
from tests.integration.conftest import make_store

BOUNDS = {
    "products_handle_bounded",
    "products_description_bounded",
    "variants_sku_bounded",
    "variants_title_bounded",
    "product_handle_redirects_handle_bounded",
    "api_tokens_name_bounded",
}


async def test_the_bounds_are_named_and_validated(db_admin_dsn):
    conn = await asyncpg.connect(db_admin_dsn)
    try:
        rows = await conn.fetch(
            "SELECT conname, convalidated FROM pg_constraint WHERE conname = ANY($1)",
            list(BOUNDS),
        )
    finally:
        await conn.close()
    assert {r["conname"]: r["convalidated"] for r in rows} == dict.fromkeys(BOUNDS, True)


@pytest.mark.parametrize(
    ("column", "length", "constraint"),
    [
        ("description", limits.DESCRIPTION + 1, "products_description_bounded"),
        ("handle", limits.HANDLE + 1, "products_handle_bounded"),
    ],
)
async def test_an_oversized_product_field_is_refused_by_the_database(
    app_pool, db_admin_dsn, column, length, constraint
):
    store_id = await make_store(app_pool)
    values = {"handle": "ok", "description": "", column: "x" * length}
    # As the superuser: no validation, no RLS, only the table's own constraints.
    conn = await asyncpg.connect(db_admin_dsn)
    try:
        with pytest.raises(asyncpg.CheckViolationError) as err:
            await conn.execute(
                "INSERT INTO products (store_id, handle, title, description)"
                " VALUES ($1, $2, 'T', $3)",
                store_id,
                values["handle"],
                values["description"],
            )
        assert err.value.constraint_name == constraint
        # At the limit it fits.
        await conn.execute(
            "INSERT INTO products (store_id, handle, title, description) VALUES ($1, $2, 'T', $3)",
            store_id,
            "at-limit",
            "x" * limits.DESCRIPTION,
        )
    finally:
        await conn.close()
