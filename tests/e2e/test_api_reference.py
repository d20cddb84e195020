"""The API reference on the platform host, through Envoy: the generated OpenAPI documents
and the Swagger UI page over them, assets included (nothing from a CDN)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.e2e.api_client import PLATFORM_HOST

GENERATED = Path(__file__).resolve().parents[2] / "gen" / "openapi"
PLATFORM = {"host": PLATFORM_HOST}


@pytest.mark.parametrize("audience", ["storefront", "admin", "platform"])
def test_documents_are_served_as_generated(http, audience):
    r = http.get(f"/openapi/{audience}.json", headers=PLATFORM)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == json.loads((GENERATED / f"{audience}.json").read_text())


def test_unknown_document_is_404_naming_the_documents(http):
    r = http.get("/openapi/secrets.json", headers=PLATFORM)
    assert r.status_code == 404, r.text
    assert r.json()["code"] == 5
    assert "storefront.json" in r.json()["message"]


def test_docs_page_loads_its_assets_from_this_host(http):
    r = http.get("/docs", headers=PLATFORM)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    sources = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert sources and all(s.startswith("/docs/") for s in sources), sources
    for source in sources:
        asset = http.get(source, headers=PLATFORM)
        assert asset.status_code == 200, source
        assert asset.content, source
    bundle = http.get("/docs/swagger-ui-bundle.js", headers=PLATFORM)
    assert bundle.headers["content-type"].startswith("application/javascript")


def test_only_the_page_assets_are_served(http):
    r = http.get("/docs/swagger-editor-bundle.js", headers=PLATFORM)
    assert r.status_code == 404, r.text


def test_store_hosts_do_not_serve_the_reference(http, store_a):
    r = http.get("/docs", headers={"host": store_a.host})
    assert r.status_code == 404, r.text
