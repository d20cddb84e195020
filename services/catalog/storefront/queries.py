"""Storefront reads of many products: filtered, sorted listing and ranked search, one round
trip per page.

Every page is a keyset range: rows after the last (sort key, id) the client saw, so products
inserted while a shopper pages never shift the pages still to come. A page first picks the
(sort key, id) pairs in order from a partial index that leads with store_id (RLS adds the
store), then fetches each product with its variants in the same statement (a LATERAL join on
the primary key), so the key the next token carries is the one PostgreSQL compared."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from services.catalog.products.repository import PRODUCT_SELECT, ProductRow, product_from_row
from services.catalog.storefront import page_tokens as tokens
from services.catalog.storefront.search_terms import SearchTerms
from services.common.db import tenant_transaction

# Typo tolerance: word_similarity() of the query against a title (0..1). 0.4 accepts one
# wrong, missing or doubled letter in a word of five or more ("sweter", "jaket", "mugg");
# transpositions of adjacent letters in short words ("shrit") stay below it.
FUZZY_THRESHOLD = 0.4
# Weights of the lexeme classes {D, C, B, A}: a title hit (A) counts ten times a description
# hit (C), so a description repeating a word cannot outrank a product named after it.
_RANK_WEIGHTS = "{0.1, 0.1, 0.4, 1.0}"
# Among products matching the words, titles close to the whole query come first ("Mug" before
# "Ceramic Mug with Lid" for "mug").
_TITLE_BOOST = 0.3


@dataclass(frozen=True)
class _Order:
    key: str  # SQL expression over `p` the keyset compares
    descending: bool
    where: str = ""  # rows without a key have no place in this order


ORDERS: dict[str, _Order] = {
    "newest": _Order("p.created_at", descending=True),
    "price_asc": _Order("p.min_price", descending=False, where=" AND p.min_price IS NOT NULL"),
    "price_desc": _Order("p.min_price", descending=True, where=" AND p.min_price IS NOT NULL"),
    "title": _Order("p.title_key", descending=False),
}


@dataclass(frozen=True)
class ListCriteria:
    sort: str  # a key of ORDERS
    min_price: int | None = None
    max_price: int | None = None
    available_only: bool = False

    @property
    def fingerprint(self) -> str:
        return tokens.fingerprint(
            {"min": self.min_price, "max": self.max_price, "avail": self.available_only}
        )


@dataclass(frozen=True)
class Page:
    products: list[ProductRow]
    next_page_token: str
    approximate: bool = False


class _Params:
    """Numbered query parameters ($1, $2, ...) collected while the SQL is assembled."""

    def __init__(self) -> None:
        self.values: list[object] = []

    def add(self, value: object) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def _page_sql(keys_sql: str, order_by: str) -> str:
    """The products (with variants) of a key subquery that yields store_id, id and sort_key,
    in `order_by` order (over k.sort_key and k.id)."""
    return (
        f"SELECT k.sort_key, x.* FROM ({keys_sql}) k CROSS JOIN LATERAL ("
        f"{PRODUCT_SELECT} WHERE p.store_id = k.store_id AND p.id = k.id) x "
        f"ORDER BY {order_by}"
    )


def list_sql(
    criteria: ListCriteria, after: tokens.Position | None, limit: int
) -> tuple[str, list[object]]:
    order = ORDERS[criteria.sort]
    params = _Params()
    where = "p.status = 'active'" + order.where
    if criteria.available_only:
        where += " AND p.available"
    lo, hi = criteria.min_price, criteria.max_price
    # The maintained range rules out most products through the row alone; when both ends are
    # set, a product whose variants straddle the range (9.00 and 50.00 for 20 to 30) still needs
    # one variant inside it.
    if lo is not None:
        where += f" AND p.max_price >= {params.add(lo)}"
    if hi is not None:
        where += f" AND p.min_price <= {params.add(hi)}"
    if lo is not None and hi is not None:
        where += (
            " AND EXISTS (SELECT 1 FROM variants v WHERE v.store_id = p.store_id"
            f" AND v.product_id = p.id AND v.price BETWEEN {params.add(lo)} AND {params.add(hi)})"
        )
    if after is not None:
        # A row comparison on (key, id): one index range condition (both are leakproof, so
        # RLS lets the planner use it as such).
        op = "<" if order.descending else ">"
        where += f" AND ({order.key}, p.id) {op} ({params.add(after.key)}, {params.add(after.id)})"
    direction = "DESC" if order.descending else "ASC"
    keys = (
        f"SELECT p.store_id, p.id, {order.key} AS sort_key FROM products p WHERE {where} "
        f"ORDER BY {order.key} {direction}, p.id {direction} LIMIT {params.add(limit)}"
    )
    return _page_sql(keys, f"k.sort_key {direction}, k.id {direction}"), params.values


def search_sql(
    terms: SearchTerms, fuzzy: bool, after: tokens.Position | None, limit: int
) -> tuple[str, list[object]]:
    """Best first: ORDER BY score DESC, id ASC. The score is computed per matching product of
    the store (no index can rank), which is why the keyset compares it in an outer query."""
    params = _Params()
    if fuzzy:
        text = params.add(terms.text)
        hits = (
            f"SELECT p.store_id, p.id, word_similarity({text}, p.title) AS score "
            f"FROM products p WHERE p.status = 'active' "
            f"AND word_similarity({text}, p.title) >= {params.add(FUZZY_THRESHOLD)}"
        )
    else:
        query = params.add(terms.tsquery)
        text = params.add(terms.text)
        hits = (
            f"SELECT p.store_id, p.id, ts_rank_cd('{_RANK_WEIGHTS}', p.search_vector, q.q)"
            f" + {_TITLE_BOOST} * similarity(p.title, {text}) AS score "
            f"FROM products p, to_tsquery('simple', {query}) AS q(q) "
            f"WHERE p.status = 'active' AND p.search_vector @@ q.q"
        )
    where = ""
    if after is not None:
        score, last_id = params.add(after.key), params.add(after.id)
        where = f" WHERE h.score < {score} OR (h.score = {score} AND h.id > {last_id})"
    keys = (
        f"SELECT h.store_id, h.id, h.score AS sort_key FROM ({hits}) h{where} "
        f"ORDER BY h.score DESC, h.id LIMIT {params.add(limit)}"
    )
    return _page_sql(keys, "k.sort_key DESC, k.id"), params.values


def _page(rows: list[asyncpg.Record], size: int, kind: str, criteria_fp: str) -> Page:
    products = [product_from_row(r) for r in rows[:size]]
    token = ""
    if len(rows) > size:
        last = rows[size - 1]
        key = last["sort_key"]
        token = tokens.encode(kind, criteria_fp, tokens.Position(key, last["id"]))
    return Page(products, token, approximate=kind == "fuzzy")


def search_fingerprint(terms: SearchTerms) -> str:
    return tokens.fingerprint({"q": list(terms.words)})


class StorefrontQueries:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def list_products(self, criteria: ListCriteria, size: int, page_token: str) -> Page:
        after = None
        if page_token:
            _, after = tokens.decode(page_token, (criteria.sort,), criteria.fingerprint)
        sql, params = list_sql(criteria, after, size + 1)
        async with tenant_transaction(self._pool, readonly=True) as conn:
            rows = await conn.fetch(sql, *params)
        return _page(rows, size, criteria.sort, criteria.fingerprint)

    async def search_products(self, terms: SearchTerms | None, size: int, page_token: str) -> Page:
        if terms is None:
            return Page([], "")
        fp = search_fingerprint(terms)
        if page_token:
            # A walk stays in the mode its first page chose, even if matches appear meanwhile.
            kind, after = tokens.decode(page_token, ("search", "fuzzy"), fp)
            sql, params = search_sql(terms, kind == "fuzzy", after, size + 1)
            async with tenant_transaction(self._pool, readonly=True) as conn:
                rows = await conn.fetch(sql, *params)
            return _page(rows, size, kind, fp)
        sql, params = search_sql(terms, False, None, size + 1)
        async with tenant_transaction(self._pool, readonly=True) as conn:
            rows = await conn.fetch(sql, *params)
            kind = "search"
            if not rows:
                # Nothing has every word: fall back to similar titles (typos). One more
                # statement, only on this path.
                kind = "fuzzy"
                sql, params = search_sql(terms, True, None, size + 1)
                rows = await conn.fetch(sql, *params)
        return _page(rows, size, kind, fp)
