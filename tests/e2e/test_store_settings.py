"""UpdateStoreSettings: only the fields sent change; the settings object must fit its schema."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import struct_pb2
from shop.store.v1 import store_pb2, store_pb2_grpc

from tests.e2e.api_client import admin, grpc_channel, signup


@pytest.fixture(scope="module")
def merchant(http):
    return signup(http, "settings")


def patch(http, store, body: dict):
    return http.patch("/v1/admin/store", headers=admin(store), json=body)


def fields(response) -> list[str]:
    return [v["field"] for d in response.json()["details"] for v in d.get("field_violations", [])]


def test_update_all_settings(http, merchant):
    settings = {
        "announcement": "Free shipping this week",
        "colors": {"primary": "#112233", "accent": "#aabbcc"},
        "social_links": {"instagram": "https://instagram.com/shop"},
        "checkout": {"require_phone": True, "tipping_percentages": [5, 10, 15]},
        "languages": ["en", "de-CH"],
    }
    r = patch(
        http,
        merchant,
        {"name": "Renamed", "theme_id": "dawn-2", "low_stock_threshold": 0, "settings": settings},
    )
    assert r.status_code == 200, r.text
    stored = http.get("/v1/admin/store", headers=admin(merchant)).json()
    assert stored["name"] == "Renamed"
    assert stored["theme_id"] == "dawn-2"
    assert stored["low_stock_threshold"] == 0
    assert stored["settings"] == settings
    assert stored["plan"] == "standard"


def test_only_fields_sent_change(http, merchant):
    before = http.get("/v1/admin/store", headers=admin(merchant)).json()
    r = patch(http, merchant, {"low_stock_threshold": 12})
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["low_stock_threshold"] == 12
    assert {k: v for k, v in after.items() if k != "low_stock_threshold"} == {
        k: v for k, v in before.items() if k != "low_stock_threshold"
    }


def test_settings_outside_the_schema_are_refused_with_their_paths(http, merchant):
    before = http.get("/v1/admin/store", headers=admin(merchant)).json()
    r = patch(
        http,
        merchant,
        {
            "settings": {
                "colors": {"primary": "red"},
                "social_links": {"blog": "http://insecure.example"},
                "favicon": "x",
            }
        },
    )
    assert r.status_code == 400, r.text
    assert fields(r) == ["settings", "settings.colors.primary", "settings.social_links.blog"]
    assert http.get("/v1/admin/store", headers=admin(merchant)).json() == before


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": ""}, ["name"]),
        ({"theme_id": "Bad Theme"}, ["theme_id"]),
        ({"low_stock_threshold": -1}, ["low_stock_threshold"]),
        ({}, ["request"]),
        ({"name": " ", "low_stock_threshold": 2_000_000}, ["name", "low_stock_threshold"]),
    ],
)
def test_invalid_fields_are_named(http, merchant, body, expected):
    r = patch(http, merchant, body)
    assert r.status_code == 400, r.text
    assert fields(r) == expected


async def test_grpc_update(stack, merchant):
    settings = struct_pb2.Struct()
    settings.update({"announcement": "over gRPC"})
    async with grpc_channel(stack.ports.edge, merchant.host) as channel:
        stub = store_pb2_grpc.StoreAdminStub(channel)
        metadata = (("authorization", f"Bearer {merchant.token}"),)
        store = await stub.UpdateStoreSettings(
            store_pb2.UpdateStoreSettingsRequest(theme_id="minimal", settings=settings),
            metadata=metadata,
        )
        assert store.theme_id == "minimal"
        assert store.settings["announcement"] == "over gRPC"
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.UpdateStoreSettings(
                store_pb2.UpdateStoreSettingsRequest(theme_id="-"), metadata=metadata
            )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
