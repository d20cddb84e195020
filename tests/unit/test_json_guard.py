import json

from services.store.edge.json_guard import JsonBodyGuard

guard = JsonBodyGuard()


def _unknown(path: str, body: dict, verb: str = "POST") -> list[str]:
    return guard.unknown_fields(verb, path, json.dumps(body).encode())


def test_known_fields_in_either_json_or_proto_names_pass():
    body = {
        "title": "x",
        "variants": [{"sku": "A", "price": {"amountMinor": 1}}],
        "options": ["Size"],
    }
    assert _unknown("/v1/admin/products", body) == []
    body["variants"][0]["price"] = {"amount_minor": 1, "currency_code": "USD"}
    assert _unknown("/v1/admin/products", body) == []


def test_unknown_fields_are_named_with_their_path():
    body = {
        "title": "x",
        "bogus": 1,
        "variants": [{"sku": "A"}, {"cost": 2, "price": {"cents": 3}}],
    }
    assert _unknown("/v1/admin/products", body) == [
        "bogus",
        "variants[1].cost",
        "variants[1].price.cents",
    ]
    assert _unknown("/v1/stores", {"name": "x", "plan": "gold"}) == ["plan"]


def test_other_routes_and_malformed_json_are_left_to_the_transcoder():
    assert _unknown("/v1/products", {"x": 1}, verb="GET") == []
    assert guard.unknown_fields("POST", "/v1/stores", b"{not json") == []


def test_deep_json_is_refused_without_recursion_error():
    deepest = b'{"title":' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    assert guard.violations("POST", "/v1/admin/products", deepest) == [
        ("body", "JSON must nest at most 32 levels")
    ]
    nested: object = "x"
    for _ in range(40):
        nested = {"a": nested}
    body = json.dumps({"settings": nested}).encode()
    assert guard.violations("PATCH", "/v1/admin/store", body)[0][0] == "body"


def test_json_at_the_depth_limit_passes():
    nested: object = "x"
    for _ in range(30):
        nested = [nested]
    body = json.dumps({"title": "t", "tags": nested}).encode()
    assert guard.violations("POST", "/v1/admin/products", body) == []
