from envoy.config.route.v3 import route_pb2

from services.store.edge.routes import (
    ROUTE_CONFIG_NAME,
    RouteTable,
    StoreRoute,
    cluster_plugin,
    platform_virtual_host,
    store_virtual_host,
)


def _parse(table: RouteTable) -> route_pb2.RouteConfiguration:
    config = route_pb2.RouteConfiguration()
    config.ParseFromString(table.serialize())
    return config


def test_concatenated_bytes_equal_a_normally_built_configuration():
    table = RouteTable("myshop.localhost")
    routes = [
        StoreRoute(1, ("a.myshop.localhost",)),
        StoreRoute(2, ("b.myshop.localhost", "shop.b.com")),
    ]
    for r in routes:
        table.upsert(r)
    expected = route_pb2.RouteConfiguration(
        name=ROUTE_CONFIG_NAME,
        cluster_specifier_plugins=[cluster_plugin()],
        virtual_hosts=[
            platform_virtual_host("myshop.localhost"),
            *(store_virtual_host(r) for r in routes),
        ],
    )
    assert _parse(table) == expected


def test_store_virtual_host_replaces_client_store_header():
    vhost = store_virtual_host(StoreRoute(7, ("s.myshop.localhost",)))
    assert list(vhost.request_headers_to_remove) == ["x-store-id"]
    [added] = vhost.request_headers_to_add
    assert (added.header.key, added.header.value) == ("x-store-id", "7")
    assert added.append_action == added.OVERWRITE_IF_EXISTS_OR_ADD


def test_duplicate_host_is_refused_not_pushed():
    table = RouteTable("myshop.localhost")
    assert table.upsert(StoreRoute(1, ("a.myshop.localhost", "shop.example.com")))
    table.upsert(StoreRoute(2, ("b.myshop.localhost", "shop.example.com")))
    assert table.hosts_of(2) == ("b.myshop.localhost",)
    domains = [d for vh in _parse(table).virtual_hosts for d in vh.domains]
    assert len(domains) == len(set(domains))


def test_removal_frees_hosts_and_unchanged_upsert_is_a_no_op():
    table = RouteTable("myshop.localhost")
    table.upsert(StoreRoute(1, ("a.myshop.localhost",)))
    assert not table.upsert(StoreRoute(1, ("a.myshop.localhost",)))
    assert table.remove(1)
    assert table.upsert(StoreRoute(2, ("a.myshop.localhost",)))
    assert [vh.name for vh in _parse(table).virtual_hosts] == ["platform", "store-2"]


def test_platform_host_cannot_be_taken_by_a_store():
    table = RouteTable("myshop.localhost")
    table.upsert(StoreRoute(3, ("api.myshop.localhost",)))
    assert table.hosts_of(3) == ()
