"""The listener decides which calls need a token and which bodies are checked; the per-store
virtual hosts stay small (they are repeated 100k times)."""

import yaml

from devstack.envoy_config import render
from services.store.edge.api import ADMIN_SERVICES, PUBLIC_SERVICES
from services.store.edge.routes import StoreRoute, store_virtual_host

SKIP = "type.googleapis.com/envoy.extensions.filters.common.matcher.action.v3.SkipFilter"


def _filters() -> dict[str, dict]:
    text = render(listen_port=8080, admin_port=9901, store_port=50051, catalog_port=50052)
    listeners = yaml.safe_load(text)["static_resources"]["listeners"]
    [edge] = [item for item in listeners if item["name"] == "edge"]
    hcm = edge["filter_chains"][0]["filters"][0]["typed_config"]
    return {f["name"]: f["typed_config"] for f in hcm["http_filters"]}


def test_ext_authz_is_skipped_for_exactly_the_public_services():
    config = _filters()["envoy.filters.http.ext_authz"]
    tree = config["xds_matcher"]["matcher_tree"]
    assert tree["input"]["typed_config"]["header_name"] == ":path"
    skipped = tree["prefix_match_map"]["map"]
    assert set(skipped) == {f"/{s}/" for s in PUBLIC_SERVICES}
    assert all(m["action"]["typed_config"]["@type"] == SKIP for m in skipped.values())
    # No fallback that would skip everything else.
    assert "on_no_match" not in config["xds_matcher"]
    assert not {f"/{s}/" for s in ADMIN_SERVICES} & set(skipped)


def test_json_guard_runs_on_rest_writes_only():
    config = _filters()["shop.json_guard"]
    stripe, matcher = config["xds_matcher"]["matcher_list"]["matchers"]
    # Stripe's raw-body webhooks skip it first (they are google.api.HttpBody, signed).
    assert stripe["predicate"]["single_predicate"]["value_match"] == {"prefix": "/v1/stripe/"}
    assert stripe["on_match"]["action"]["name"] == "skip"
    inputs = [
        (
            p["single_predicate"]["input"]["typed_config"]["header_name"],
            p["single_predicate"]["value_match"],
        )
        for p in matcher["predicate"]["not_matcher"]["and_matcher"]["predicate"]
    ]
    assert inputs == [
        (":method", {"safe_regex": {"google_re2": {}, "regex": "POST|PUT|PATCH"}}),
        (":path", {"prefix": "/v1/"}),
    ]
    grpc = config["extension_config"]["typed_config"]["grpc_service"]
    assert grpc["initial_metadata"] == [{"key": "x-shop-check", "value": "json_body"}]


def test_store_virtual_host_is_small():
    vhost = store_virtual_host(StoreRoute(123456, ("shop-abcdef.myshop.localhost",)))
    # Plain prefix routes, no per-route filter configs, no regexes.
    assert len(vhost.routes) <= 4
    assert all(not r.typed_per_filter_config and not r.match.headers for r in vhost.routes)
    assert len(vhost.SerializeToString()) < 500


def test_a_shoppers_session_never_reaches_either_authorizer():
    filters = _filters()
    for name in ("envoy.filters.http.ext_authz", "shop.json_guard"):
        config = filters[name]["extension_config"]["typed_config"]
        assert config["disallowed_headers"] == {"patterns": [{"exact": "x-shopper-session"}]}
