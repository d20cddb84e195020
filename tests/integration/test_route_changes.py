"""The control plane's incremental route reads: the change log that the route trigger writes, read
back by the consistency check (what a dropped LISTEN connection missed reaches the Envoys
holding the host), and the by-host look-up an on-demand request costs."""

from __future__ import annotations

import asyncpg
import pytest
from envoy.config.route.v3 import route_components_pb2 as rc

from services.common.db import create_pool
from services.store.edge.route_reader import RouteReader
from services.store.edge.route_sync import ChangeFeed
from services.store.edge.vhds import VHOST_PREFIX, VirtualHostProvider
from services.store.stores.repository import StoreRepository
from services.store.stores.rules import validate_new_store
from services.store.tokens.rules import FIRST_TOKEN_SCOPES
from tests.e2e.api_client import unique_subdomain

DOMAIN = "myshop.localhost"


class Recorder:
    def __init__(self) -> None:
        self.changed_names: list[str] = []

    def changed(self, type_url: str, names) -> None:
        self.changed_names.extend(names)


@pytest.fixture
async def reader(database):
    pool = await create_pool(database.control_dsn, 2)
    yield RouteReader(pool, DOMAIN)
    await pool.close()


async def test_consistency_check_pushes_a_change_no_notify_delivered(database, app_pool, reader):
    provider = VirtualHostProvider(reader)
    # Never started: no LISTEN connection, so only the change log can tell it anything.
    feed = ChangeFeed(database.control_dsn, reader, provider)
    await feed.catch_up()
    subdomain = unique_subdomain("log")
    host = f"{subdomain}.{DOMAIN}"
    envoy = Recorder()
    provider.watch(envoy, [VHOST_PREFIX + host])  # asked for before the store existed

    new = validate_new_store("Logged", subdomain, "o@example.com", "USD")
    store, _ = await StoreRepository(app_pool).create(new, FIRST_TOKEN_SCOPES)
    await feed.catch_up()

    assert envoy.changed_names == [VHOST_PREFIX + host]
    resource = (await provider.resolve([VHOST_PREFIX + host]))[VHOST_PREFIX + host]
    vhost = rc.VirtualHost.FromString(resource.body.value)
    assert list(vhost.domains) == [host]
    assert vhost.request_headers_to_add[0].header.value == str(store.id)


async def test_changes_since_name_only_stores_changed_after(database, app_pool, reader):
    before = await reader.now()
    first = validate_new_store("One", unique_subdomain("log"), "o@example.com", "USD")
    one, _ = await StoreRepository(app_pool).create(first, FIRST_TOKEN_SCOPES)
    ids, middle = await reader.changed_since(before)
    assert one.id in ids
    second = validate_new_store("Two", unique_subdomain("log"), "o@example.com", "USD")
    two, _ = await StoreRepository(app_pool).create(second, FIRST_TOKEN_SCOPES)
    ids, _ = await reader.changed_since(middle)
    assert two.id in ids and one.id not in ids


async def test_by_host_look_up_finds_subdomains_only_as_one_label(app_pool, reader):
    subdomain = unique_subdomain("host")
    new = validate_new_store("Host", subdomain, "o@example.com", "USD")
    store, _ = await StoreRepository(app_pool).create(new, FIRST_TOKEN_SCOPES)
    found = await reader.routes_by_host(
        {f"{subdomain}.{DOMAIN}", f"x.{subdomain}.{DOMAIN}", "unknown.example.com"}
    )
    assert set(found) == {f"{subdomain}.{DOMAIN}"}
    assert found[f"{subdomain}.{DOMAIN}"].store_id == store.id


async def test_the_app_role_cannot_read_the_change_log(database):
    conn = await asyncpg.connect(database.app_dsn)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT store_id FROM platform.route_changes")
    finally:
        await conn.close()
