import yaml

from devstack.envoy_config import render
from services.store.edge.rate_limits import DEFAULT_PLAN, PLAN_KEY, PLANS, STORE_KEY
from services.store.edge.routes import StoreRoute, store_virtual_host


def _local_ratelimit_config() -> dict:
    text = render(listen_port=8080, admin_port=9901, store_port=50051, catalog_port=50052)
    listeners = yaml.safe_load(text)["static_resources"]["listeners"]
    [listener] = [item for item in listeners if item["name"] == "edge"]
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    names = [f["name"] for f in hcm["http_filters"]]
    # After the transcoder (REST paths only match routes once rewritten), before ext_authz.
    rl = names.index("envoy.filters.http.local_ratelimit")
    assert names.index("envoy.filters.http.grpc_json_transcoder") < rl
    assert rl < names.index("envoy.filters.http.ext_authz")
    return hcm["http_filters"][rl]["typed_config"]


def test_bootstrap_has_one_per_store_bucket_per_plan():
    config = _local_ratelimit_config()
    buckets = {}
    for descriptor in config["descriptors"]:
        plan_entry, store_entry = descriptor["entries"]
        assert plan_entry["key"] == PLAN_KEY
        # No value: Envoy makes one bucket per store id it sees.
        assert store_entry == {"key": STORE_KEY}
        bucket = descriptor["token_bucket"]
        assert bucket["fill_interval"] == "1s"
        buckets[plan_entry["value"]] = (bucket["tokens_per_fill"], bucket["max_tokens"])
    assert buckets == {p: (lim.requests_per_second, lim.burst) for p, lim in PLANS.items()}
    assert config["max_dynamic_descriptors"] >= 100_000
    assert config["always_consume_default_token_bucket"] is False
    assert config["rate_limited_as_resource_exhausted"] is True


def test_virtual_host_names_its_plan_and_store():
    vhost = store_virtual_host(StoreRoute(42, ("s.myshop.localhost",), "plus"))
    [limit] = vhost.rate_limits
    entries = [
        (a.generic_key.descriptor_key, a.generic_key.descriptor_value) for a in limit.actions
    ]
    assert entries == [(PLAN_KEY, "plus"), (STORE_KEY, "42")]
    # The bucket config itself is not in the virtual host: a push cannot reset it.
    assert "envoy.filters.http.local_ratelimit" not in vhost.typed_per_filter_config


def test_unknown_plan_falls_back_to_the_default():
    vhost = store_virtual_host(StoreRoute(1, ("s.myshop.localhost",), "legacy"))
    assert vhost.rate_limits[0].actions[0].generic_key.descriptor_value == DEFAULT_PLAN
