"""Storefront reads of many products: filtered, sorted listing and ranked search, one round
trip per page (see listing.py for how a page is read).

Search goes through the SECURITY DEFINER functions of migration 0014 (search.product_matches,
search.similar_titles): under FORCE RLS the planner cannot use the GIN indexes for @@ or the
trigram operators (they are not leakproof); the functions can, and confine themselves to the
transaction's store. They return at most MAX_CANDIDATES (id, score) pairs; the page is then
ranked, keyset-compared and read under RLS like any other."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from services.catalog.products.repository import ProductRow, product_from_row, row_weight
from services.catalog.storefront.listing import (
    KINDS,
    ListCriteria,
    Params,
    Source,
    list_sql,
    page_sql,
)
from services.catalog.storefront.search_terms import SearchTerms
from services.common import cursor
from services.common.db import tenant_transaction
from services.common.tenancy import require_store_id

# Candidates a search ranks: the cost of a search follows min(matches, this), never the size of
# the store's catalog. Ten pages of 50.
MAX_CANDIDATES = 500
SEARCH_KINDS: cursor.Kinds = {"search": (float, uuid.UUID), "fuzzy": (float, uuid.UUID)}
PRODUCTS = Source("products p", "id")


@dataclass(frozen=True)
class Page:
    products: list[ProductRow]
    next_page_token: str
    approximate: bool = False


def search_sql(
    store_id: int,
    terms: SearchTerms,
    fuzzy: bool,
    after: tuple[cursor.KeyPart, ...] | None,
    limit: int,
) -> tuple[str, list[object]]:
    """Best first: ORDER BY score DESC, id ASC, over the function's candidates."""
    params = Params()
    store = params.add(store_id)
    if fuzzy:
        hits = (
            f"SELECT m.id, m.score FROM search.similar_titles({params.add(terms.text)},"
            f" {params.add(MAX_CANDIDATES)}) m"
        )
    else:
        hits = (
            f"SELECT m.id, m.score FROM search.product_matches("
            f"to_tsquery('simple', {params.add(terms.tsquery)}), {params.add(terms.text)},"
            f" {params.add(MAX_CANDIDATES)}) m"
        )
    where = ""
    if after is not None:
        score, last_id = params.add(after[0]), params.add(after[1])
        where = f" WHERE h.score < {score} OR (h.score = {score} AND h.id > {last_id})"
    keys = (
        f"SELECT h.id, h.score AS sort_key FROM ({hits}) h{where} "
        f"ORDER BY h.score DESC, h.id LIMIT {params.add(limit)}"
    )
    # The products are read under RLS, active ones only, whatever the function returned.
    sql = page_sql(keys, "k.sort_key DESC, k.id", store).replace(
        "AND p.id = k.id)", "AND p.id = k.id AND p.status = 'active')"
    )
    return sql, params.values


def to_page(rows: list[asyncpg.Record], size: int, kind: str, filters: dict[str, object]) -> Page:
    kept = cursor.rows_within(rows, size, row_weight)
    products = [product_from_row(r) for r in rows[:kept]]
    token = ""
    if len(rows) > kept:
        last = rows[kept - 1]
        token = cursor.encode(kind, filters, (last["sort_key"], last["id"]))
    return Page(products, token, approximate=kind == "fuzzy")


def search_filters(terms: SearchTerms) -> dict[str, object]:
    return {"q": list(terms.words)}


class StorefrontQueries:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def list_products(self, criteria: ListCriteria, size: int, page_token: str) -> Page:
        after = None
        if page_token:
            _, after = cursor.decode(
                page_token, {criteria.sort: KINDS[criteria.sort]}, criteria.filters
            )
        sql, params = list_sql(require_store_id(), criteria, after, size + 1, PRODUCTS)
        async with tenant_transaction(self._pool, readonly=True) as conn:
            rows = await conn.fetch(sql, *params)
        return to_page(rows, size, criteria.sort, criteria.filters)

    async def search_products(self, terms: SearchTerms | None, size: int, page_token: str) -> Page:
        if terms is None:
            return Page([], "")
        filters = search_filters(terms)
        store_id = require_store_id()
        if page_token:
            # A walk stays in the mode its first page chose, even if matches appear meanwhile.
            kind, after = cursor.decode(page_token, SEARCH_KINDS, filters)
            sql, params = search_sql(store_id, terms, kind == "fuzzy", after, size + 1)
            async with tenant_transaction(self._pool, readonly=True) as conn:
                rows = await conn.fetch(sql, *params)
            return to_page(rows, size, kind, filters)
        sql, params = search_sql(store_id, terms, False, None, size + 1)
        async with tenant_transaction(self._pool, readonly=True) as conn:
            rows = await conn.fetch(sql, *params)
            kind = "search"
            if not rows:
                # Nothing has every word: fall back to similar titles (typos). One more
                # statement, only on this path.
                kind = "fuzzy"
                sql, params = search_sql(store_id, terms, True, None, size + 1)
                rows = await conn.fetch(sql, *params)
        return to_page(rows, size, kind, filters)
