"""Custom domains, end to end: TXT records served by a real DNS server on loopback, the Store
service looking them up, the control plane pushing routes, and Envoy serving the domain."""

from __future__ import annotations

import time
import uuid

import grpc
import httpx
import idna
import pytest
from shop.store.v1 import store_pb2, store_pb2_grpc

from tests.conftest import DOMAIN_TEST_ENV
from tests.e2e.api_client import admin, create_product, grpc_channel, signup, wait_routable
from tests.support.polling import seconds_until

GRACE = float(DOMAIN_TEST_ENV["DOMAIN_RECHECK_GRACE_SECONDS"])


@pytest.fixture(scope="module")
def shop(http):
    store = signup(http, "domains")
    create_product(http, store, "Domain Tee", skus=["DOM-1"], handle="tee")
    return store


@pytest.fixture(scope="module")
def rival(http):
    return signup(http, "rival")


def new_domain() -> str:
    return f"shop-{uuid.uuid4().hex[:8]}.example.com"


def register(http, store, domain: str) -> httpx.Response:
    return http.post("/v1/admin/domains", headers=admin(store), json={"domain": domain})


def registered(http, store, domain: str) -> dict:
    r = register(http, store, domain)
    assert r.status_code == 200, r.text
    return r.json()


def verify(http, store, domain: str) -> httpx.Response:
    return http.post(f"/v1/admin/domains/{domain}:verify", headers=admin(store), json={})


def domains_of(http, store) -> dict[str, dict]:
    r = http.get("/v1/admin/domains", headers=admin(store))
    assert r.status_code == 200, r.text
    return {d["domain"]: d for d in r.json()["domains"]}


def verified(http, store, dns_server, domain: str) -> dict:
    record = registered(http, store, domain)["verification_record"]
    dns_server.set_txt(record["name"], record["value"])
    r = verify(http, store, domain)
    assert r.status_code == 200, r.text
    return r.json()


def wait_status(http, host: str, status: int, timeout: float) -> float:
    """Seconds until the edge answers `status` for `host`'s storefront."""
    return seconds_until(
        lambda: http.get("/v1/products", headers={"host": host}).status_code == status,
        within=timeout,
        what=f"{host} to answer {status}",
    )


def titles(http, host: str) -> set[str]:
    r = http.get("/v1/products", headers={"host": host})
    assert r.status_code == 200, r.text
    return {p["title"] for p in r.json()["products"]}


def test_register_verify_serve_and_remove(http, shop, dns_server):
    domain = new_domain()
    body = registered(http, shop, domain)
    assert body["status"] == "DOMAIN_STATUS_PENDING"
    record = body["verification_record"]
    assert record["type"] == "TXT" and record["name"] == f"_myshop-verify.{domain}"
    # Pending: not routed.
    assert http.get("/v1/products", headers={"host": domain}).status_code == 404

    # Long values arrive as several strings of one TXT record; they are joined.
    token = record["value"]
    dns_server.set_txt(record["name"], "unrelated=1", (token[:10], token[10:]))
    r = verify(http, shop, domain)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "DOMAIN_STATUS_VERIFIED" and r.json()["verified_at"]

    assert wait_routable(http, domain, timeout=1.0) < 1.0
    assert titles(http, domain) == {"Domain Tee"}

    r = http.delete(f"/v1/admin/domains/{domain}", headers=admin(shop))
    assert r.status_code == 200, r.text
    assert wait_status(http, domain, 404, timeout=1.0) < 1.0
    assert domain not in domains_of(http, shop)


def test_other_stores_token_in_txt_does_not_verify(http, shop, rival, dns_server):
    domain = new_domain()
    ours = registered(http, shop, domain)["verification_record"]
    theirs = registered(http, rival, new_domain())["verification_record"]["value"]
    dns_server.set_txt(ours["name"], theirs)
    r = verify(http, shop, domain)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == grpc.StatusCode.FAILED_PRECONDITION.value[0]
    assert ours["value"] in r.json()["message"]
    assert domains_of(http, shop)[domain]["status"] == "DOMAIN_STATUS_PENDING"
    assert http.get("/v1/products", headers={"host": domain}).status_code == 404


def test_missing_record_stays_pending_and_names_the_record(http, shop):
    domain = new_domain()
    record = registered(http, shop, domain)["verification_record"]
    r = verify(http, shop, domain)
    assert r.status_code == 400
    message = r.json()["message"]
    assert record["name"] in message and record["value"] in message
    assert domains_of(http, shop)[domain]["status"] == "DOMAIN_STATUS_PENDING"


@pytest.mark.parametrize("failure", ["fail", "drop"])
def test_dns_failure_is_unavailable_and_retryable(http, shop, dns_server, failure):
    domain = new_domain()
    record = registered(http, shop, domain)["verification_record"]
    getattr(dns_server, failure)(record["name"])  # SERVFAIL, or no answer at all (timeout)
    r = verify(http, shop, domain)
    assert r.status_code == 503, r.text
    assert r.json()["code"] == grpc.StatusCode.UNAVAILABLE.value[0]
    # Retrying once DNS answers succeeds.
    dns_server.set_txt(record["name"], record["value"])
    assert verify(http, shop, domain).json()["status"] == "DOMAIN_STATUS_VERIFIED"


def test_domain_of_another_store_already_exists_without_naming_it(http, shop, rival):
    domain = new_domain()
    registered(http, shop, domain)
    # Same name, other spelling: case, trailing dot.
    r = register(http, rival, f"{domain.upper()}.")
    assert r.status_code == 409, r.text
    # Nothing about the holder: the very same answer the holder itself gets.
    assert r.json()["message"] == f"domain: '{domain}' is already registered"
    assert register(http, shop, domain).json() == r.json()


def test_spellings_normalise_to_one_domain(http, shop):
    domain = new_domain()
    body = registered(http, shop, f"  {domain.replace('shop', 'SHOP', 1)}. ")
    assert body["domain"] == domain
    assert body["verification_record"]["name"] == f"_myshop-verify.{domain}"


def test_unicode_domain_is_stored_as_punycode(http, shop):
    unicode_name = f"Bücher-{uuid.uuid4().hex[:6]}.example.com"
    body = registered(http, shop, unicode_name)
    assert body["domain"] == idna.encode(unicode_name.lower()).decode()
    assert body["domain"].startswith("xn--")


@pytest.mark.parametrize(
    "domain",
    [
        "other.myshop.localhost",
        "myshop.localhost",
        "localhost",
        "192.168.1.10",
        "-bad.example.com",
        "a..example.com",
        "under_score.example.com",
        f"{'a' * 64}.example.com",
        "",
    ],
)
def test_invalid_or_platform_domains_are_refused(http, shop, domain):
    r = register(http, shop, domain)
    assert r.status_code == 400, r.text
    fields = [v["field"] for d in r.json()["details"] for v in d.get("field_violations", [])]
    assert fields == ["domain"]


def test_host_variants_of_a_custom_domain_reach_that_store_only(http, shop, rival, dns_server):
    domain = new_domain()
    verified(http, shop, dns_server, domain)
    wait_routable(http, domain, timeout=1.0)
    for host in (domain.upper(), f"{domain}:8080", f"{domain}.", f"{domain.upper()}.:443"):
        assert titles(http, host) == {"Domain Tee"}, host
    # Near misses are not this store (nor any other).
    for host in (f"www.{domain}", f"x{domain}", domain.replace(".example.com", ".example.org")):
        assert http.get("/v1/products", headers={"host": host}).status_code == 404, host


def test_primary_domain(http, shop, dns_server):
    pending, live = new_domain(), new_domain()
    registered(http, shop, pending)
    verified(http, shop, dns_server, live)

    r = http.post(f"/v1/admin/domains/{pending}:setPrimary", headers=admin(shop), json={})
    assert r.status_code == 400 and "not verified" in r.json()["message"]

    r = http.post(f"/v1/admin/domains/{live}:setPrimary", headers=admin(shop), json={})
    assert r.status_code == 200, r.text
    assert r.json()["primary_domain"] == live
    assert http.get("/v1/admin/store", headers=admin(shop)).json()["primary_domain"] == live
    assert domains_of(http, shop)[live]["primary"] is True

    r = http.post(f"/v1/admin/domains/{shop.host}:setPrimary", headers=admin(shop), json={})
    assert r.status_code == 200 and r.json()["primary_domain"] == shop.host
    assert domains_of(http, shop)[live]["primary"] is False


def test_recheck_unverifies_after_the_grace_period(http, shop, dns_server):
    domain = new_domain()
    record = verified(http, shop, dns_server, domain)["verification_record"]
    wait_routable(http, domain, timeout=1.0)
    dns_server.remove(record["name"])
    removed = time.monotonic()
    while domains_of(http, shop)[domain]["status"] != "DOMAIN_STATUS_PENDING":
        assert time.monotonic() - removed < GRACE + 5, "never went back to pending"
        # Within the grace period the shop stays reachable.
        if time.monotonic() - removed < GRACE * 0.8:
            assert http.get("/v1/products", headers={"host": domain}).status_code == 200
        time.sleep(0.05)
    assert time.monotonic() - removed >= GRACE
    assert wait_status(http, domain, 404, timeout=1.0) < 1.0


def test_recheck_never_unverifies_on_dns_failure(http, shop, dns_server):
    domain = new_domain()
    record = verified(http, shop, dns_server, domain)["verification_record"]
    dns_server.fail(record["name"])
    failing_from = time.time()
    # Wait for re-checks that ran well past the grace period while DNS kept failing.
    deadline = time.monotonic() + GRACE + 6
    while True:
        checked = domains_of(http, shop)[domain]
        last = checked.get("last_checked_at", "")
        if last and _epoch(last) > failing_from + GRACE + 0.5:
            break
        assert time.monotonic() < deadline, "no re-check happened"
        time.sleep(0.1)
    assert checked["status"] == "DOMAIN_STATUS_VERIFIED"
    assert http.get("/v1/products", headers={"host": domain}).status_code == 200


def _epoch(rfc3339: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


async def test_grpc_statuses(stack, shop, rival):
    domain = new_domain()
    metadata = (("authorization", f"Bearer {shop.token}"),)
    async with grpc_channel(stack.ports.edge, shop.host) as channel:
        stub = store_pb2_grpc.StoreAdminStub(channel)
        created = await stub.RegisterDomain(
            store_pb2.RegisterDomainRequest(domain=domain), metadata=metadata
        )
        assert created.status == store_pb2.DOMAIN_STATUS_PENDING
        with pytest.raises(grpc.aio.AioRpcError) as pending:
            await stub.VerifyDomain(store_pb2.VerifyDomainRequest(domain=domain), metadata=metadata)
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.RemoveDomain(
                store_pb2.RemoveDomainRequest(domain=new_domain()), metadata=metadata
            )
    async with grpc_channel(stack.ports.edge, rival.host) as channel:
        stub = store_pb2_grpc.StoreAdminStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as taken:
            await stub.RegisterDomain(
                store_pb2.RegisterDomainRequest(domain=domain),
                metadata=(("authorization", f"Bearer {rival.token}"),),
            )
    assert pending.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert taken.value.code() == grpc.StatusCode.ALREADY_EXISTS
