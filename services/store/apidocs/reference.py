"""The API reference the platform host serves: the OpenAPI documents `make proto` generates
(gen/openapi/*.json, never edited by hand) and a Swagger UI page over them, from the static
files the swagger-ui-py package ships — so the page needs nothing from the internet."""

from __future__ import annotations

import html
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from services.common.errors import NotFound

DOCUMENTS_DIR = Path(__file__).resolve().parents[3] / "gen" / "openapi"
AUDIENCES = ("storefront", "admin", "platform")
# What the page loads; everything else in the package (the editor bundles) is not served.
_ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "index.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "application/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}
_JSON = "application/json; charset=utf-8"
_HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Resource:
    content_type: str
    data: bytes


def swagger_ui_static() -> Path:
    """The package's static folder, found without importing it (its import pulls in the web
    framework adapters, which we do not use)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def docs_page(title: str) -> bytes:
    urls = [{"name": a, "url": f"/openapi/{a}.json"} for a in AUDIENCES]
    config = {
        "urls": urls,
        "urls.primaryName": AUDIENCES[0],
        "dom_id": "#swagger-ui",
        "deepLinking": True,
        "layout": "StandaloneLayout",
    }
    page = f"""<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>{html.escape(title)}</title>
    <link rel="stylesheet" type="text/css" href="/docs/swagger-ui.css">
    <link rel="stylesheet" type="text/css" href="/docs/index.css">
    <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="/docs/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script>
      window.onload = function () {{
        const config = {json.dumps(config)};
        config.presets = [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset];
        config.plugins = [SwaggerUIBundle.plugins.DownloadUrl];
        window.ui = SwaggerUIBundle(config);
      }};
    </script>
  </body>
</html>
"""
    return page.encode()


class ApiReference:
    """Everything is read once at start-up: a request never touches the disk."""

    def __init__(self, documents: Path = DOCUMENTS_DIR, static: Path | None = None) -> None:
        self._documents = {
            f"{a}.json": Resource(_JSON, (documents / f"{a}.json").read_bytes())
            for a in AUDIENCES
            if (documents / f"{a}.json").is_file()
        }
        folder = static or swagger_ui_static()
        self._assets = {
            name: Resource(kind, (folder / name).read_bytes()) for name, kind in _ASSETS.items()
        }
        self._page = Resource(_HTML, docs_page("Shop platform API reference"))

    def document(self, name: str) -> Resource:
        found = self._documents.get(name)
        if found is None:
            known = ", ".join(sorted(self._documents)) or "none (run make proto)"
            raise NotFound(f"no OpenAPI document {name!r}; the documents are {known}")
        return found

    def page(self) -> Resource:
        return self._page

    def asset(self, name: str) -> Resource:
        found = self._assets.get(name)
        if found is None:
            raise NotFound(f"no file {name!r} in the API reference page")
        return found
