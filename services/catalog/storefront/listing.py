"""The storefront's product orderings and filters as SQL, shared by the catalog listing and by
collection pages.

Every page is a keyset range: rows after the last (sort key, id) the client saw. A page first
picks the (sort key, id) pairs in order from a partial index that leads with store_id (and, for
a collection, its id), then fetches each product with its variants in the same statement (a
LATERAL join on the primary key), so the key the next token carries is the one PostgreSQL
compared."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from services.catalog.products.repository import PRODUCT_SELECT
from services.common import cursor


@dataclass(frozen=True)
class Order:
    column: str  # the sort key's column (the same name in products and collection_products)
    key_type: type
    descending: bool
    nullable: bool = False  # rows without a key have no place in this order


ORDERS: dict[str, Order] = {
    "newest": Order("created_at", datetime, descending=True),
    "price_asc": Order("min_price", int, descending=False, nullable=True),
    "price_desc": Order("min_price", int, descending=True, nullable=True),
    "title": Order("title_key", str, descending=False),
    # The merchant's order: collection_products only.
    "manual": Order("position", int, descending=False),
}
KINDS: cursor.Kinds = {name: (o.key_type, uuid.UUID) for name, o in ORDERS.items()}


@dataclass(frozen=True)
class ListCriteria:
    sort: str  # a key of ORDERS
    min_price: int | None = None
    max_price: int | None = None
    available_only: bool = False

    @property
    def filters(self) -> dict[str, object]:
        return {"min": self.min_price, "max": self.max_price, "avail": self.available_only}


@dataclass(frozen=True)
class Source:
    """Where the ordered ids come from: the store's products, or one collection's members
    (whose rows carry the products' sort keys and filters)."""

    table: str  # "products p" or "collection_products p"
    id_column: str  # "id" or "product_id"
    # e.g. ("collection_id", <uuid>): rows where p.collection_id is that value
    scope: tuple[str, object] | None = None


class Params:
    """Numbered query parameters ($1, $2, ...) collected while the SQL is assembled."""

    def __init__(self) -> None:
        self.values: list[object] = []

    def add(self, value: object) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def page_sql(keys_sql: str, order_by: str, store: str) -> str:
    """The products (with variants) of a key subquery that yields id and sort_key, in
    `order_by` order (over k.sort_key and k.id)."""
    return (
        f"SELECT k.sort_key, x.* FROM ({keys_sql}) k CROSS JOIN LATERAL ("
        f"{PRODUCT_SELECT} WHERE p.store_id = {store} AND p.id = k.id) x "
        f"ORDER BY {order_by}"
    )


def list_sql(
    store_id: int,
    criteria: ListCriteria,
    after: tuple[cursor.KeyPart, ...] | None,
    limit: int,
    source: Source,
) -> tuple[str, list[object]]:
    order = ORDERS[criteria.sort]
    params = Params()
    store = params.add(store_id)
    pid = f"p.{source.id_column}"
    key = f"p.{order.column}"
    where = f"p.store_id = {store} AND p.status = 'active'"
    if source.scope is not None:
        where += f" AND p.{source.scope[0]} = {params.add(source.scope[1])}"
    if order.nullable:
        where += f" AND {key} IS NOT NULL"
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
            f" AND EXISTS (SELECT 1 FROM variants v WHERE v.store_id = {store}"
            f" AND v.product_id = {pid} AND v.price BETWEEN {params.add(lo)} AND {params.add(hi)})"
        )
    if after is not None:
        # A row comparison on (key, id): one index range condition (both are leakproof, so
        # RLS lets the planner use it as such).
        op = "<" if order.descending else ">"
        where += f" AND ({key}, {pid}) {op} ({params.add(after[0])}, {params.add(after[1])})"
    direction = "DESC" if order.descending else "ASC"
    keys = (
        f"SELECT {pid} AS id, {key} AS sort_key FROM {source.table} WHERE {where} "
        f"ORDER BY {key} {direction}, {pid} {direction} LIMIT {params.add(limit)}"
    )
    return page_sql(keys, f"k.sort_key {direction}, k.id {direction}", store), params.values
