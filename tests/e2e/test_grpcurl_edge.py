"""grpcurl through Envoy by server reflection alone (no proto files), as the README shows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from services.store.edge.api import TRANSCODED_SERVICES


def _grpcurl(*args: str) -> subprocess.CompletedProcess:
    grpcurl = Path(sys.executable).parent / "grpcurl"
    return subprocess.run(
        [str(grpcurl), "-plaintext", *args], capture_output=True, text=True, timeout=30
    )


def test_list_describe_and_call_through_envoy(stack, store_a):
    edge = f"127.0.0.1:{stack.ports.edge}"
    for authority in (store_a.host, "api.myshop.localhost"):
        listed = _grpcurl("-authority", authority, edge, "list")
        assert listed.returncode == 0, listed.stderr
        assert set(TRANSCODED_SERVICES) <= set(listed.stdout.split())

    described = _grpcurl("-authority", store_a.host, edge, "describe", "shop.catalog.v1.Storefront")
    assert "rpc GetProductByHandle" in described.stdout, described.stderr

    called = _grpcurl(
        "-authority",
        store_a.host,
        "-d",
        '{"handle": "tee"}',
        edge,
        "shop.catalog.v1.Storefront/GetProductByHandle",
    )
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout)["title"] == "Alpha Tee"

    # Admin methods still need the store's token, reflection or not.
    refused = _grpcurl(
        "-authority", store_a.host, "-d", "{}", edge, "shop.store.v1.StoreAdmin/GetStore"
    )
    assert "Unauthenticated" in refused.stderr
