"""Every statement the services send that touches a tenant table names its store
(`store_id = $n`), besides RLS: on Citus that predicate is what routes a statement to one
shard (without it, a statement fans out to every shard, and FOR UPDATE across shards fails).
The services' SQL is read from their source with PostgreSQL's own parser (pglast); see
tests/unit/sql_predicates.py for what counts as naming the store."""

from __future__ import annotations

import pytest

from tests.unit.sql_predicates import Checker, service_sql, tenant_tables

# Reviewed: statements that are cross-store by design, and why. (path, start of the statement)
ALLOWED = {
    # The relay (one leader, on the coordinator) reads every store's unpublished rows in id
    # order, prunes published ones and measures the lag: a read and a delete across shards,
    # both of which Citus runs (no row locks). Its marks name their store.
    ("services/events/relay.py", "SELECT store_id, id, exchange"),
    ("services/events/relay.py", "DELETE FROM outbox WHERE published_at <"),
    ("services/events/relay.py", "SELECT extract(epoch FROM now() - min(created_at))"),
    # The operators' directory searches every store: stores and store_domains are reference
    # tables (a full copy on every node), so this read never crosses shards.
    ("services/store/operators/directory.py", "SELECT s.id, s.name, s.subdomain"),
}


def _key(path: str, sql: str) -> tuple[str, str] | None:
    text = " ".join(sql.split())
    for allowed_path, start in ALLOWED:
        if path == allowed_path and text.startswith(start):
            return allowed_path, start
    return None


def test_every_service_statement_on_a_tenant_table_names_its_store():
    checker = Checker(tenant_tables())
    statements = list(service_sql())
    assert len(statements) > 150  # the scan found the services' SQL at all
    failures, used = [], set()
    for s in statements:
        problems = checker.check(s.sql)
        if not problems:
            continue
        key = _key(s.path, s.sql)
        if key is not None:
            used.add(key)
            continue
        failures.append(f"{s.path}:{s.line}: {'; '.join(problems)}\n    {' '.join(s.sql.split())}")
    assert not failures, "statements that do not name their store:\n" + "\n".join(failures)
    assert used == ALLOWED, f"allow-list entries that match nothing: {ALLOWED - used}"


def test_the_tenant_tables_come_from_the_migrations():
    tables = tenant_tables()
    assert tables["stores"] == "id"
    assert {"products", "variants", "orders", "outbox", "store_domains"} <= set(tables)
    assert "operator_credentials" not in tables  # platform-wide, no store_id


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1 FROM products WHERE id = $1",
        "SELECT 1 FROM products p JOIN variants v ON v.product_id = p.id WHERE p.store_id = $1",
        "UPDATE variants SET price = 1 WHERE id = $1",
        "DELETE FROM orders WHERE id = $1 OR store_id = $2",
        "SELECT currency FROM stores FOR SHARE",
        "INSERT INTO outbox (event_type) VALUES ($1)",
        "INSERT INTO outbox (store_id) VALUES (current_setting('app.current_store_id')::bigint)",
        "INSERT INTO outbox (store_id) SELECT $1 FROM webhooks w WHERE w.topic = $2",
        "SELECT 1 FROM products p WHERE p.store_id = $1"
        " AND EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id)",
        "WITH x AS (SELECT id FROM customers WHERE email = $1) SELECT * FROM x",
        "UPDATE orders SET updated_at = clock_timestamp() WHERE store_id = $1 AND id = $2",
    ],
)
def test_a_statement_without_its_store_is_caught(sql):
    assert Checker(tenant_tables()).check(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1 FROM products WHERE store_id = $1 AND id = $2",
        "SELECT 1 FROM products p JOIN variants v ON v.store_id = p.store_id"
        " AND v.product_id = p.id WHERE p.store_id = $1",
        "UPDATE variants v SET price = 1 FROM unnest($2::uuid[]) u(id)"
        " WHERE v.store_id = $1 AND v.id = u.id",
        "SELECT currency FROM stores WHERE id = $1 FOR SHARE",
        "SELECT 1 FROM stores s JOIN store_domains d ON d.store_id = s.id WHERE s.id = $1",
        "INSERT INTO outbox (store_id, event_type) VALUES ($1::bigint, $2), ($1, $3)",
        "INSERT INTO outbox (store_id) SELECT w.store_id FROM webhooks w WHERE w.store_id = $1",
        "SELECT 1 FROM products p WHERE p.store_id = $1 AND EXISTS"
        " (SELECT 1 FROM variants v WHERE v.store_id = p.store_id AND v.product_id = p.id)",
        "SELECT 1 FROM orders WHERE store_id = ANY ($1::bigint[])",
        "SELECT * FROM search.product_matches($1, $2, $3)",
    ],
)
def test_a_statement_naming_its_store_passes(sql):
    assert Checker(tenant_tables()).check(sql) == []
