"""The scope each admin method needs (the scopes themselves: services.store.tokens.rules).

The scope is declared on the method in the proto (`shop.options.v1.required_scope`), so the
API definition is the single table; this module reads it from the descriptors."""

from __future__ import annotations

from typing import Any

from google.api import annotations_pb2
from google.protobuf import descriptor_pool
from shop.options.v1 import access_pb2

from services.store.edge.api import ADMIN_SERVICES, OPERATOR_SERVICES


def admin_method_scopes() -> dict[str, str]:
    """gRPC path (`/pkg.Service/Method`) → required scope, for every admin method. A method
    that declares no scope maps to "" and is refused by the authorizer (fail closed)."""
    pool = descriptor_pool.Default()
    table: dict[str, str] = {}
    for service_name in ADMIN_SERVICES:
        service = pool.FindServiceByName(service_name)
        for method in service.methods:
            options: Any = method.GetOptions()
            table[f"/{service_name}/{method.name}"] = str(
                options.Extensions[access_pb2.required_scope]
            )
    return table


def operator_method_scopes() -> dict[str, str]:
    """gRPC path → operator scope, for every operator method ("" when undeclared: refused)."""
    pool = descriptor_pool.Default()
    table: dict[str, str] = {}
    for service_name in OPERATOR_SERVICES:
        for method in pool.FindServiceByName(service_name).methods:
            options: Any = method.GetOptions()
            table[f"/{service_name}/{method.name}"] = str(
                options.Extensions[access_pb2.operator_scope]
            )
    return table


def admin_read_methods() -> frozenset[str]:
    """Admin methods that only read: those the API maps to an HTTP GET. A suspended store's
    admin API answers these and refuses the rest; a method without an HTTP rule counts as a
    write (fail closed)."""
    pool = descriptor_pool.Default()
    reads = set()
    for service_name in ADMIN_SERVICES:
        for method in pool.FindServiceByName(service_name).methods:
            options: Any = method.GetOptions()
            if options.HasExtension(annotations_pb2.http):
                rule = options.Extensions[annotations_pb2.http]
                if rule.WhichOneof("pattern") == "get":
                    reads.add(f"/{service_name}/{method.name}")
    return frozenset(reads)
