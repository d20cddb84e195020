"""Customers in PostgreSQL: every statement in the caller's tenant transaction and naming its
store.

The totals are never incremented: `refresh_totals` locks the customer row, then recomputes
both numbers from the orders in a new statement (under READ COMMITTED a statement that starts
after the lock sees every order change committed before it), so whichever transaction changes
an order last writes totals that include every change."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from typing import Any

import asyncpg

from services.checkout.customers.rules import (
    Customer,
    CustomerChange,
    MarketingConsent,
    NewCustomer,
    customer_event,
    email_key,
    like_prefix,
    new_customer_from_order,
    order_link_allowed,
)
from services.common import outbox
from services.common.db import fetch_one
from services.common.errors import NotFound

_SELECT = """
SELECT c.id, c.email, c.name, c.phone, c.default_address::text AS default_address,
       c.marketing_state, c.marketing_source, c.marketing_updated_at, c.tags, c.note,
       c.orders_count, c.total_spent, s.currency, c.password_hash IS NOT NULL AS has_account,
       c.created_at, c.updated_at, c.erased_at
FROM customers c JOIN stores s ON s.id = c.store_id
"""
log = logging.getLogger(__name__)
_MISSING = "no customer with this id in this store"


def customer_from_row(row: asyncpg.Record) -> Customer:
    return Customer(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        phone=row["phone"],
        default_address=json.loads(row["default_address"]) if row["default_address"] else None,
        consent=MarketingConsent(
            row["marketing_state"], row["marketing_source"], row["marketing_updated_at"]
        ),
        tags=tuple(row["tags"]),
        note=row["note"],
        orders_count=row["orders_count"],
        total_spent=row["total_spent"],
        currency=row["currency"].strip(),
        has_account=row["has_account"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        erased_at=row["erased_at"],
    )


async def get(
    conn: asyncpg.Connection, store_id: int, customer_id: uuid.UUID, *, lock: bool = False
) -> Customer:
    row = await conn.fetchrow(
        _SELECT + "WHERE c.store_id = $1 AND c.id = $2" + (" FOR UPDATE OF c" if lock else ""),
        store_id,
        customer_id,
    )
    if row is None:
        raise NotFound(_MISSING)
    return customer_from_row(row)


async def get_or_none(conn: asyncpg.Connection, store_id: int, customer_id: str) -> Customer | None:
    """By an id from elsewhere (a session): None when it names no customer of this store."""
    try:
        cid = uuid.UUID(customer_id)
    except ValueError:
        return None
    row = await conn.fetchrow(_SELECT + "WHERE c.store_id = $1 AND c.id = $2", store_id, cid)
    return None if row is None else customer_from_row(row)


async def account_by_email(
    conn: asyncpg.Connection, store_id: int, email: str
) -> tuple[uuid.UUID, str | None] | None:
    """The customer of this email and its password hash (None: no account yet)."""
    row = await conn.fetchrow(
        """SELECT id, password_hash FROM customers
           WHERE store_id = $1 AND lower(email) = $2 AND erased_at IS NULL""",
        store_id,
        email_key(email),
    )
    return None if row is None else (row["id"], row["password_hash"])


async def password_hash(
    conn: asyncpg.Connection, store_id: int, customer_id: uuid.UUID
) -> str | None:
    return await conn.fetchval(
        "SELECT password_hash FROM customers WHERE store_id = $1 AND id = $2 AND erased_at IS NULL",
        store_id,
        customer_id,
    )


async def _insert(
    conn: asyncpg.Connection, store_id: int, new: NewCustomer, **extra: Any
) -> uuid.UUID | None:
    """Inserts the customer unless the email has one; the new id, or None."""
    return await conn.fetchval(
        """INSERT INTO customers (store_id, id, email, name, default_address, password_hash,
                                  password_changed_at, marketing_state, marketing_source,
                                  marketing_updated_at, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6,
                   CASE WHEN $6::text IS NULL THEN NULL ELSE now() END,
                   coalesce($7, 'not_subscribed'), $8,
                   CASE WHEN $7::text IS NULL THEN NULL ELSE now() END,
                   now(), now())
           ON CONFLICT (store_id, lower(email)) DO NOTHING
           RETURNING id""",
        store_id,
        uuid.uuid4(),
        new.email,
        new.name,
        json.dumps(new.default_address) if new.default_address else None,
        extra.get("password_hash"),
        extra.get("marketing_state"),
        extra.get("marketing_source"),
    )


async def _lock_by_email(conn: asyncpg.Connection, store_id: int, email: str) -> uuid.UUID:
    return await fetch_one_id(
        conn,
        """SELECT id FROM customers WHERE store_id = $1 AND lower(email) = $2 FOR UPDATE""",
        store_id,
        email_key(email),
    )


async def fetch_one_id(conn: asyncpg.Connection, query: str, *args: object) -> uuid.UUID:
    row = await fetch_one(conn, query, *args)
    return uuid.UUID(str(row["id"]))


async def customer_for_order(
    conn: asyncpg.Connection, store_id: int, new: NewCustomer
) -> tuple[uuid.UUID, bool]:
    """The customer of the order's email, created (with customers/create) if there is none;
    locked until the transaction ends. (id, created)."""
    created = await _insert(conn, store_id, new)
    if created is None:
        # Someone else's insert, committed (ON CONFLICT waited for it): lock theirs.
        return await _lock_by_email(conn, store_id, new.email), False
    await emit(conn, store_id, created, "created", f"customer-created:{created}")
    return created, True


async def link_order(
    conn: asyncpg.Connection, store_id: int, email: str, shipping: dict[str, Any] | None
) -> uuid.UUID | None:
    """In the order's transaction: the customer the new order belongs to (created if the email
    has none), locked. An email no customer can hold leaves the order unlinked, and so does a
    customer row that cannot be written: the order of a succeeded payment is never held up by
    its customer (a savepoint keeps a failed statement from spoiling the order's transaction)."""
    if not order_link_allowed(email):
        return None
    new = new_customer_from_order(email.strip(), shipping)
    try:
        async with conn.transaction():
            customer_id, created = await customer_for_order(conn, store_id, new)
            if not created:
                await fill_default_address(conn, store_id, customer_id, new)
    except (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError):
        log.exception("order of store %s left without a customer", store_id)
        return None
    return customer_id


async def fill_default_address(
    conn: asyncpg.Connection, store_id: int, customer_id: uuid.UUID, new: NewCustomer
) -> None:
    """A customer without a name or address takes the order's."""
    if new.default_address is None and new.name is None:
        return
    await conn.execute(
        """UPDATE customers
           SET default_address = coalesce(default_address, $3::jsonb),
               name = coalesce(name, $4), updated_at = now()
           WHERE store_id = $1 AND id = $2 AND erased_at IS NULL
             AND (default_address IS NULL OR name IS NULL)""",
        store_id,
        customer_id,
        json.dumps(new.default_address) if new.default_address else None,
        new.name,
    )


async def refresh_totals(conn: asyncpg.Connection, store_id: int, customer_id: uuid.UUID) -> None:
    """orders_count = orders not cancelled; total_spent = sum(total - refunded) of every order.
    The lock first, the sums in the next statement (see the module's docstring)."""
    await conn.execute(
        "SELECT 1 FROM customers WHERE store_id = $1 AND id = $2 FOR UPDATE", store_id, customer_id
    )
    await conn.execute(
        """UPDATE customers c
           SET orders_count = t.placed, total_spent = t.spent, updated_at = now()
           FROM (SELECT count(*) FILTER (WHERE o.status <> 'cancelled') AS placed,
                        coalesce(sum(o.total - o.refunded), 0) AS spent
                 FROM orders o WHERE o.store_id = $1 AND o.customer_id = $2) t
           WHERE c.store_id = $1 AND c.id = $2
             AND (c.orders_count, c.total_spent) IS DISTINCT FROM (t.placed, t.spent)""",
        store_id,
        customer_id,
    )


async def refresh_totals_of_order(
    conn: asyncpg.Connection, store_id: int, order_id: uuid.UUID
) -> None:
    """After an order's refunded amount or status changed (the order is locked by the caller)."""
    customer_id = await conn.fetchval(
        "SELECT customer_id FROM orders WHERE store_id = $1 AND id = $2", store_id, order_id
    )
    if customer_id is not None:
        await refresh_totals(conn, store_id, customer_id)


async def page(
    conn: asyncpg.Connection,
    store_id: int,
    *,
    size: int,
    query: str,
    sort: str,
    after: tuple[Any, uuid.UUID] | None,
) -> list[Customer]:
    """Up to `size + 1` customers (one more tells the caller there is a next page)."""
    conditions = ["c.store_id = $1"]
    args: list[Any] = [store_id]
    if query:
        args.append(like_prefix(query))
        n = len(args)
        conditions.append(f"(lower(c.email) LIKE ${n} OR lower(c.name) LIKE ${n})")
    column = "c.total_spent" if sort == "total_spent" else "c.created_at"
    if after is not None:
        args += list(after)
        conditions.append(f"({column}, c.id) < (${len(args) - 1}, ${len(args)})")
    args.append(size + 1)
    rows = await conn.fetch(
        _SELECT
        + "WHERE "
        + " AND ".join(conditions)
        + f" ORDER BY {column} DESC, c.id DESC LIMIT ${len(args)}",
        *args,
    )
    return [customer_from_row(r) for r in rows]


async def update(
    conn: asyncpg.Connection, store_id: int, customer_id: uuid.UUID, change: CustomerChange
) -> bool:
    """Applies the change to a customer not erased; False when it changed nothing."""
    status = await conn.execute(
        """UPDATE customers
           SET note = CASE WHEN $3 THEN nullif($4, '') ELSE note END,
               tags = CASE WHEN $5 THEN $6::text[] ELSE tags END,
               marketing_state = coalesce($7, marketing_state),
               marketing_source = CASE WHEN $7::text IS NULL THEN marketing_source
                                       ELSE 'admin' END,
               marketing_updated_at = CASE WHEN $7::text IS NULL THEN marketing_updated_at
                                           ELSE now() END,
               updated_at = now()
           WHERE store_id = $1 AND id = $2 AND erased_at IS NULL
             AND (($3 AND note IS DISTINCT FROM nullif($4, ''))
                  OR ($5 AND tags IS DISTINCT FROM $6::text[])
                  OR ($7::text IS NOT NULL AND marketing_state IS DISTINCT FROM $7))""",
        store_id,
        customer_id,
        change.note is not None,
        change.note or "",
        change.tags is not None,
        list(change.tags or ()),
        change.consent_state,
    )
    return status.endswith(" 1")


async def activate(
    conn: asyncpg.Connection,
    store_id: int,
    new: NewCustomer,
    hashed: str,
    consent: str | None,
) -> tuple[uuid.UUID, bool] | None:
    """Gives the email's customer (created if needed) its password; None if it has an account
    already (activated meanwhile). (id, created)."""
    created = await _insert(
        conn,
        store_id,
        new,
        password_hash=hashed,
        marketing_state=consent,
        marketing_source="registration" if consent else None,
    )
    if created is not None:
        await emit(conn, store_id, created, "created", f"customer-created:{created}")
        return created, True
    customer_id = await _lock_by_email(conn, store_id, new.email)
    status = await conn.execute(
        """UPDATE customers
           SET password_hash = $3, password_changed_at = now(),
               name = coalesce(name, $4),
               marketing_state = coalesce($5, marketing_state),
               marketing_source = CASE WHEN $5::text IS NULL THEN marketing_source
                                       ELSE 'registration' END,
               marketing_updated_at = CASE WHEN $5::text IS NULL THEN marketing_updated_at
                                           ELSE now() END,
               updated_at = now()
           WHERE store_id = $1 AND id = $2 AND password_hash IS NULL AND erased_at IS NULL""",
        store_id,
        customer_id,
        hashed,
        new.name,
        consent,
    )
    if not status.endswith(" 1"):
        return None
    await emit(
        conn, store_id, customer_id, "updated", f"customer-activated:{customer_id}:{hashed[-16:]}"
    )
    return customer_id, False


async def set_password(
    conn: asyncpg.Connection, store_id: int, customer_id: uuid.UUID, hashed: str
) -> bool:
    status = await conn.execute(
        """UPDATE customers SET password_hash = $3, password_changed_at = now(),
                                updated_at = now()
           WHERE store_id = $1 AND id = $2 AND password_hash IS NOT NULL AND erased_at IS NULL""",
        store_id,
        customer_id,
        hashed,
    )
    return status.endswith(" 1")


async def erase(conn: asyncpg.Connection, store_id: int, customer_id: uuid.UUID) -> None:
    """Every personal field gone, the account with it; the totals and dates stay."""
    await conn.execute(
        """UPDATE customers
           SET email = NULL, name = NULL, phone = NULL, default_address = NULL, note = NULL,
               tags = '{}', password_hash = NULL, password_changed_at = NULL,
               marketing_state = 'not_subscribed', marketing_source = NULL,
               marketing_updated_at = NULL, erased_at = now(),
               updated_at = now()
           WHERE store_id = $1 AND id = $2 AND erased_at IS NULL""",
        store_id,
        customer_id,
    )


async def emit(
    conn: asyncpg.Connection, store_id: int, customer_id: uuid.UUID, action: str, key: str
) -> Customer:
    """customers/create or customers/update with the customer as it is now."""
    customer = await get(conn, store_id, customer_id)
    await outbox.record(conn, outbox.customer_event(action, customer_event(customer), key))
    return customer


async def store_mail_facts(conn: asyncpg.Connection, store_id: int) -> tuple[str, str]:
    """The store's name and subdomain (for the links in account emails)."""
    row = await fetch_one(conn, "SELECT name, subdomain FROM stores WHERE id = $1", store_id)
    return row["name"], row["subdomain"]


async def audit(
    conn: asyncpg.Connection,
    store_id: int,
    action: str,
    subject: str,
    actor: str,
    details: dict[str, Any],
) -> None:
    await conn.execute(
        """INSERT INTO audit_events (store_id, id, action, subject, actor, details, created_at)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb, now())""",
        store_id,
        uuid.uuid4(),
        action,
        subject,
        actor,
        json.dumps(details),
    )


def position_of(customer: Customer, sort: str) -> tuple[Any, uuid.UUID]:
    key: int | datetime = customer.total_spent if sort == "total_spent" else customer.created_at
    return key, customer.id
