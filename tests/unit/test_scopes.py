from google.protobuf import descriptor_pool
from shop.options.v1 import access_pb2

from services.store.edge.api import ADMIN_SERVICES, STOREFRONT_SERVICES
from services.store.edge.scopes import admin_method_scopes
from services.store.tokens.rules import ALL_SCOPES


def test_every_admin_method_declares_a_known_scope():
    table = admin_method_scopes()
    assert table, "no admin methods found"
    for method, scope in table.items():
        assert scope in ALL_SCOPES, f"{method} declares unknown or no scope {scope!r}"
    assert set(m.split("/")[1] for m in table) == set(ADMIN_SERVICES)


def test_storefront_methods_declare_no_scope():
    pool = descriptor_pool.Default()
    for name in STOREFRONT_SERVICES:
        for method in pool.FindServiceByName(name).methods:
            assert not method.GetOptions().Extensions[access_pb2.required_scope]
