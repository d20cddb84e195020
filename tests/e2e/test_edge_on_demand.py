"""On-demand virtual hosts (VHDS over delta ADS), through real Envoys: a host's virtual host is
fetched on its first request, each Envoy is sent only changes to hosts it holds, removals
reach an Envoy holding the host, and a control-plane restart leaves Envoys serving."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import httpx
import pytest

from devstack import envoy_config
from devstack.infra import free_port
from devstack.stack import wait_envoy_ready
from tests.e2e.api_client import PLATFORM_HOST, admin, create_product, signup, unique_subdomain
from tests.e2e.lifecycle_support import mint_operator, ops_post

VHDS_UPDATES = "http.edge.rds.vhds.storefront.update_success"


class Edge:
    """One Envoy: its listener (through httpx) and what its admin interface says it holds."""

    def __init__(self, port: int, admin_port: int) -> None:
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
        self.admin_port = admin_port

    def _admin(self, path: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}{path}") as r:
            return r.read().decode()

    def vhosts(self) -> dict[str, dict]:
        """Virtual hosts Envoy holds (the platform host and the on-demand ones), by domain."""
        dump = json.loads(self._admin("/config_dump?resource=dynamic_route_configs"))
        held = {}
        for config in dump["configs"]:
            for vhost in config["route_config"].get("virtual_hosts", []):
                for domain in vhost["domains"]:
                    held[domain] = vhost
        return held

    def vhds_updates(self) -> int:
        for line in self._admin("/stats?filter=vhds").splitlines():
            name, _, value = line.partition(": ")
            if name == VHDS_UPDATES:
                return int(value)
        return 0

    def plan_of(self, host: str) -> str | None:
        vhost = self.vhosts().get(host)
        if vhost is None:
            return None
        actions = vhost["rate_limits"][0]["actions"]
        return actions[0]["generic_key"]["descriptor_value"]


def wait_for(check, timeout: float = 5.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        time.sleep(0.02)


@pytest.fixture(scope="module")
def first(stack) -> Edge:
    return Edge(stack.ports.edge, stack.ports.envoy_admin)


@pytest.fixture(scope="module")
def second(stack):
    """A second Envoy on the same control plane (its own node id), as a second edge replica."""
    port, admin_port = free_port(), free_port()
    config = Path(stack.run_dir) / f"envoy-{port}.yaml"
    config.write_text(
        envoy_config.render(
            listen_port=port,
            admin_port=admin_port,
            store_port=stack.ports.store,
            catalog_port=stack.ports.catalog,
            checkout_port=stack.ports.checkout,
            node_id="edge-second",
            mesh=stack.mesh,
        )
    )
    envoy = Path(sys.executable).parent / "envoy"
    proc = stack._spawn(
        "envoy-second",
        [str(envoy), "-c", str(config), "--disable-hot-restart", "--concurrency", "1"],
        dict(os.environ),
    )
    wait_envoy_ready(admin_port, proc, Path(stack.run_dir) / "envoy-second.log")
    edge = Edge(port, admin_port)
    yield edge
    edge.http.close()
    stack.stop("envoy-second")


def products(edge: Edge, host: str) -> httpx.Response:
    return edge.http.get("/v1/products", headers={"host": host})


def signup_raw(http: httpx.Client) -> dict:
    """Signs a store up and returns at once (no waiting for the edge)."""
    subdomain = unique_subdomain("ondemand")
    r = http.post(
        "/v1/stores",
        headers={"host": PLATFORM_HOST},
        json={
            "name": f"Store {subdomain}",
            "subdomain": subdomain,
            "owner_email": f"owner@{subdomain}.example.com",
            "currency": "USD",
        },
    )
    assert r.status_code == 200, r.text
    return r.json()["store"]


def test_new_store_is_routable_on_its_first_request(http, first):
    host = signup_raw(http)["primary_domain"]
    assert host not in first.vhosts()
    r = products(first, host)
    assert r.status_code == 200, r.text
    assert r.json()["products"] == []
    assert host in first.vhosts()


def test_unknown_host_is_404_and_not_held(first):
    host = f"{unique_subdomain('nobody')}.myshop.localhost"
    assert products(first, host).status_code == 404
    assert products(first, host).status_code == 404
    assert host not in first.vhosts()


def test_store_created_on_a_host_already_answered_unknown_is_routable(http, first):
    """Envoy never asks again for a name it was told is unknown: the control plane keeps the
    name watched and pushes the store when it appears."""
    subdomain = unique_subdomain("later")
    host = f"{subdomain}.myshop.localhost"
    assert products(first, host).status_code == 404
    r = http.post(
        "/v1/stores",
        headers={"host": PLATFORM_HOST},
        json={
            "name": "Later",
            "subdomain": subdomain,
            "owner_email": f"owner@{subdomain}.example.com",
            "currency": "USD",
        },
    )
    assert r.status_code == 200, r.text
    wait_for(lambda: products(first, host).status_code == 200, what=f"{host} routable")


def test_removed_custom_domain_is_refused_at_once_where_it_was_held(http, first, dns_server):
    store = signup(http, "domainhold")
    create_product(http, store, "Held Tee", skus=["HELD-1"])
    domain = f"shop-{uuid.uuid4().hex[:8]}.example.com"
    r = http.post("/v1/admin/domains", headers=admin(store), json={"domain": domain})
    assert r.status_code == 200, r.text
    record = r.json()["verification_record"]
    dns_server.set_txt(record["name"], record["value"])
    r = http.post(f"/v1/admin/domains/{domain}:verify", headers=admin(store), json={})
    assert r.status_code == 200, r.text
    wait_for(lambda: products(first, domain).status_code == 200, 1.0, f"{domain} live")
    assert domain in first.vhosts()  # this Envoy holds the domain's virtual host

    r = http.delete(f"/v1/admin/domains/{domain}", headers=admin(store))
    assert r.status_code == 200, r.text
    wait_for(lambda: domain not in first.vhosts(), 1.0, "removal pushed")
    assert products(first, domain).status_code == 404
    # The store's own subdomain is untouched.
    assert products(first, store.host).status_code == 200


def test_each_envoy_gets_only_its_hosts_updates(stack, http, first, second):
    operator = mint_operator(stack, "edge-plans", ("manage_plans",))
    # Signed up without touching either Envoy; then x is asked of the first, y of the second.
    x, y = signup_raw(http), signup_raw(http)
    x_host, y_host = x["primary_domain"], y["primary_domain"]
    assert products(first, x_host).status_code == 200
    assert products(second, y_host).status_code == 200
    assert x_host not in second.vhosts() and y_host not in first.vhosts()
    before_second = second.vhds_updates()

    assert ops_post(http, operator, x["id"], "changePlan", plan="plus").status_code == 200
    wait_for(lambda: first.plan_of(x_host) == "plus", what="x's plan on the first Envoy")
    # A change to y afterwards: the second Envoy's next update is y's; had x's been sent to
    # it, it would have arrived first, on the same stream.
    assert ops_post(http, operator, y["id"], "changePlan", plan="plus").status_code == 200
    wait_for(lambda: second.plan_of(y_host) == "plus", what="y's plan on the second Envoy")
    assert second.vhds_updates() == before_second + 1
    assert x_host not in second.vhosts()
    assert first.plan_of(y_host) is None


def test_control_plane_restart_keeps_envoys_serving_and_resubscribed(stack, http, first):
    operator = mint_operator(stack, "edge-restart", ("manage_plans",))
    held = signup(http, "restart")
    create_product(http, held, "Restart Tee", skus=["RST-1"])
    assert products(first, held.host).status_code == 200

    stack.stop("store")
    try:
        # The catalog answers the storefront; Envoy still holds the virtual host.
        r = products(first, held.host)
        assert r.status_code == 200, r.text
        assert {p["title"] for p in r.json()["products"]} == {"Restart Tee"}
    finally:
        stack.start_service("store")

    # The Envoy reconnected and said what it holds: changes to that host reach it again.
    r = ops_post(http, operator, held.id, "changePlan", plan="enterprise")
    assert r.status_code == 200, r.text
    wait_for(lambda: first.plan_of(held.host) == "enterprise", 10.0, "push after restart")
    # And new hosts are fetched on demand as before.
    host = signup_raw(http)["primary_domain"]
    assert products(first, host).status_code == 200
