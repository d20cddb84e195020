from __future__ import annotations

import asyncpg
import pytest

from devstack.dsn import OWNER_ROLE, with_database, with_user
from services.common.db import create_pool
from services.store.stores.repository import StoreRepository
from services.store.stores.rules import validate_new_store
from services.store.tokens.rules import FIRST_TOKEN_SCOPES
from tests.e2e.api_client import unique_subdomain


@pytest.fixture(scope="session")
def owner_dsn(database) -> str:
    return with_user(database.pg_admin_dsn, OWNER_ROLE, database.database)


@pytest.fixture(scope="session")
def db_admin_dsn(database) -> str:
    """Superuser on the test database (introspection, locks)."""
    return with_database(database.pg_admin_dsn, database.database)


@pytest.fixture
async def app_pool(database):
    pool = await create_pool(database.app_dsn, 4)
    yield pool
    await pool.close()


async def make_store(pool: asyncpg.Pool, currency: str = "USD") -> int:
    new = validate_new_store("Test", unique_subdomain("it"), "o@example.com", currency)
    store, _ = await StoreRepository(pool).create(new, FIRST_TOKEN_SCOPES)
    return store.id
