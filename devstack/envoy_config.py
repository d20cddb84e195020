"""Renders envoy/bootstrap.yaml for a local run."""

from __future__ import annotations

import json
from pathlib import Path
from string import Template

from services.store.edge_api import TRANSCODED_SERVICES

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "envoy" / "bootstrap.yaml"
DESCRIPTOR = ROOT / "gen" / "shop.pb"


def render(
    *,
    listen_port: int,
    admin_port: int,
    store_port: int,
    catalog_port: int,
    listen_address: str = "127.0.0.1",
    node_id: str = "edge-local",
) -> str:
    return Template(TEMPLATE.read_text()).substitute(
        NODE_ID=node_id,
        ADMIN_PORT=admin_port,
        LISTEN_ADDRESS=listen_address,
        LISTEN_PORT=listen_port,
        DESCRIPTOR_PATH=str(DESCRIPTOR),
        TRANSCODED_SERVICES=json.dumps(list(TRANSCODED_SERVICES)),
        STORE_HOST="127.0.0.1",
        STORE_PORT=store_port,
        CATALOG_HOST="127.0.0.1",
        CATALOG_PORT=catalog_port,
    )
