"""The OpenAPI documents `make proto` writes: valid OpenAPI 3.1, and exactly the REST routes
the protos declare (walked here from the descriptors themselves), with their scopes, headers
and the proto3 JSON mapping."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from google.api import annotations_pb2
from google.protobuf import descriptor_pool
from openapi_spec_validator import validate
from shop.options.v1 import access_pb2

from services.store.edge.api import (
    ADMIN_SERVICES,
    OPERATOR_SERVICES,
    PLATFORM_SERVICES,
    STOREFRONT_SERVICES,
    TRANSCODED_SERVICES,
)

GENERATED = Path(__file__).resolve().parents[2] / "gen" / "openapi"
AUDIENCE_SERVICES = {
    "storefront": STOREFRONT_SERVICES,
    "admin": ADMIN_SERVICES,
    "platform": {**PLATFORM_SERVICES, **OPERATOR_SERVICES},
}


def document(audience: str) -> dict:
    return json.loads((GENERATED / f"{audience}.json").read_text())


def http_rules(services) -> dict[tuple[str, str], object]:
    """(verb, path) → method descriptor, for every google.api.http rule of these services."""
    pool = descriptor_pool.Default()
    found = {}
    for name in services:
        for method in pool.FindServiceByName(name).methods:
            options = method.GetOptions()
            if not options.HasExtension(annotations_pb2.http):
                continue
            rule = options.Extensions[annotations_pb2.http]
            for binding in [rule, *rule.additional_bindings]:
                verb = binding.WhichOneof("pattern")
                path = re.sub(r"\{([^}=]+)(=[^}]*)?\}", r"{\1}", getattr(binding, verb))
                found[(verb, path)] = method
    return found


def operations(doc: dict) -> dict[tuple[str, str], dict]:
    return {(verb, path): op for path, item in doc["paths"].items() for verb, op in item.items()}


@pytest.mark.parametrize("audience", AUDIENCE_SERVICES)
def test_document_is_valid_openapi_3_1(audience):
    doc = document(audience)
    assert doc["openapi"].startswith("3.1.")
    validate(doc)


@pytest.mark.parametrize("audience", AUDIENCE_SERVICES)
def test_document_lists_exactly_the_routes_of_its_services(audience):
    rules = http_rules(AUDIENCE_SERVICES[audience])
    ops = operations(document(audience))
    assert set(ops) == set(rules)
    for key, method in rules.items():
        assert ops[key]["x-grpc-method"] == f"/{method.containing_service.full_name}/{method.name}"


def test_every_transcoded_route_is_in_one_document():
    everywhere = [key for audience in AUDIENCE_SERVICES for key in operations(document(audience))]
    assert sorted(everywhere) == sorted(set(everywhere))
    assert set(everywhere) == set(http_rules(TRANSCODED_SERVICES))


def test_admin_operations_name_their_scope_in_the_bearer_requirement():
    for key, method in http_rules(ADMIN_SERVICES).items():
        scope = method.GetOptions().Extensions[access_pb2.required_scope]
        op = operations(document("admin"))[key]
        assert scope, key
        assert op["security"] == [{"adminToken": [scope]}], key
        assert op["x-required-scope"] == scope
        assert {"401", "403", "429"} <= set(op["responses"]), key


def test_operator_operations_need_an_operator_credential():
    for key, method in http_rules(OPERATOR_SERVICES).items():
        scope = method.GetOptions().Extensions[access_pb2.operator_scope]
        op = operations(document("platform"))[key]
        assert op["security"] == [{"operatorCredential": [scope]}], key


def test_checkout_requires_an_idempotency_key_header():
    op = operations(document("storefront"))[("post", "/v1/carts/{cart_id}/checkout")]
    headers = [p for p in op["parameters"] if p["in"] == "header"]
    assert headers == [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": True,
            "description": headers[0]["description"],
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
        }
    ]


def test_store_host_operations_document_rate_limits():
    doc = document("storefront")
    op = operations(doc)[("get", "/v1/products")]
    assert set(op["responses"]["200"]["headers"]) == {
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    }
    limited = doc["components"]["responses"]["Error429"]
    assert set(limited["headers"]) == set(op["responses"]["200"]["headers"])
    assert limited["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/google.rpc.Status"
    }


def test_errors_are_google_rpc_status_with_field_violations():
    schemas = document("admin")["components"]["schemas"]
    status = schemas["google.rpc.Status"]
    assert status["required"] == ["code", "message"]
    bad_request = schemas["google.rpc.BadRequest.Detail"]["properties"]
    assert bad_request["@type"] == {"const": "type.googleapis.com/google.rpc.BadRequest"}
    violation = bad_request["field_violations"]["items"]["properties"]
    assert set(violation) == {"field", "description"}


def test_proto3_json_mapping():
    schemas = document("admin")["components"]["schemas"]
    money = schemas["shop.common.v1.Money"]["properties"]
    # int64 as a decimal string; the field names as the edge prints them (proto names).
    assert money["amount_minor"]["type"] == "string"
    assert money["amount_minor"]["format"] == "int64"
    product = schemas["shop.catalog.v1.Product"]["properties"]
    assert product["status"]["$ref"] == "#/components/schemas/shop.catalog.v1.ProductStatus"
    assert "PRODUCT_STATUS_ACTIVE" in schemas["shop.catalog.v1.ProductStatus"]["enum"]
    assert product["created_at"]["type"] == "string"
    assert product["created_at"]["format"] == "date-time"
    # body: "product": the body is that field; the other fields are query parameters.
    update = operations(document("admin"))[("patch", "/v1/admin/products/{id}")]
    body = update["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/shop.catalog.v1.ProductUpdate"}
    params = {p["name"]: p for p in update["parameters"]}
    assert params["id"]["in"] == "path"
    assert params["update_mask"]["in"] == "query"
    assert params["update_mask"]["schema"]["type"] == "string"  # FieldMask: "title,status"
    # body: "*": the request message without the fields the path binds.
    refund = schemas["shop.checkout.v1.RefundOrderRequest.Body"]["properties"]
    assert "id" not in refund
    assert refund["amount_minor"]["type"] == "string"


def test_descriptions_come_from_the_proto_comments():
    op = operations(document("storefront"))[("get", "/v1/products")]
    assert op["summary"].startswith("Active products only")
    page_size = next(p for p in op["parameters"] if p["name"] == "page_size")
    assert "clamped" in page_size["description"]
