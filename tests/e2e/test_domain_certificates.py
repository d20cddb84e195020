"""Certificates of custom domains, end to end: a domain verified through Envoy (TXT record on
the test DNS server) gets a certificate from the local CA within seconds; ListDomains shows
when it was issued and when it expires; the stored certificate is valid for the domain against
that CA and its key is sealed; removing the domain deletes it at once; no other store sees it.
(Serving it over TLS at the edge is not built yet.)"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import asyncpg
import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import PolicyBuilder, Store

from devstack.dsn import with_database
from services.store.certificates.sealing import KeySealer
from tests.e2e.api_client import admin, signup
from tests.support.polling import eventually


@pytest.fixture(scope="module")
def shop(http):
    return signup(http, "certs")


@pytest.fixture(scope="module")
def rival(http):
    return signup(http, "certs-rival")


def _verified_domain(http, store, dns_server) -> str:
    domain = f"tls-{uuid.uuid4().hex[:8]}.example.com"
    r = http.post("/v1/admin/domains", headers=admin(store), json={"domain": domain})
    assert r.status_code == 200, r.text
    record = r.json()["verification_record"]
    dns_server.set_txt(record["name"], record["value"])
    r = http.post(f"/v1/admin/domains/{domain}:verify", headers=admin(store), json={})
    assert r.status_code == 200, r.text
    return domain


def _listed(http, store) -> dict[str, dict]:
    r = http.get("/v1/admin/domains", headers=admin(store))
    assert r.status_code == 200, r.text
    return {d["domain"]: d for d in r.json()["domains"]}


def _stored(stack, domain: str) -> tuple | None:
    """The certificate row, read as the database's admin (outside any store)."""
    with psycopg.connect(with_database(stack.pg_admin_dsn, stack.database)) as conn:
        return conn.execute(
            "SELECT store_id, chain_pem, sealed_key, not_after FROM domain_certificates"
            " WHERE domain = %s",
            (domain,),
        ).fetchone()


def test_verifying_a_domain_issues_a_certificate_valid_for_it(http, stack, shop, dns_server):
    domain = _verified_domain(http, shop, dns_server)
    listed = eventually(
        lambda: (d := _listed(http, shop)[domain]).get("ssl_provisioned_at") and d,
        within=10,
        what=f"ListDomains to show {domain}'s certificate",
    )
    expires = dt.datetime.fromisoformat(listed["ssl_expires_at"].replace("Z", "+00:00"))
    assert expires > dt.datetime.now(dt.UTC) + dt.timedelta(days=60)

    store_id, chain_pem, sealed_key, not_after = _stored(stack, domain)
    assert str(store_id) == shop.id
    assert not_after == expires
    leaf, *intermediates = x509.load_pem_x509_certificates(chain_pem.encode())
    ca = x509.load_pem_x509_certificate((stack.storefront_ca_dir / "ca.pem").read_bytes())
    # A TLS client's check: chain to the local CA, name, validity, server usage.
    verifier = PolicyBuilder().store(Store([ca])).build_server_verifier(x509.DNSName(domain))
    verifier.verify(leaf, intermediates)
    other = (
        PolicyBuilder().store(Store([ca])).build_server_verifier(x509.DNSName("other.example.com"))
    )
    with pytest.raises(x509.verification.VerificationError):
        other.verify(leaf, intermediates)

    # The key is sealed at rest, opens with the configured key, and is the leaf's.
    assert b"PRIVATE KEY" not in bytes(sealed_key)
    key = serialization.load_pem_private_key(
        KeySealer.from_setting(stack.certificate_sealing_key).open(bytes(sealed_key)), None
    )
    assert key.public_key() == leaf.public_key()
    log = (stack.run_dir / "store.log").read_text()
    assert f"certificate for {domain}" in log
    assert "PRIVATE KEY" not in log and stack.certificate_sealing_key not in log


def test_removing_a_domain_deletes_its_certificate_at_once(http, stack, shop, dns_server):
    domain = _verified_domain(http, shop, dns_server)
    eventually(lambda: _stored(stack, domain), within=10, what=f"{domain}'s certificate")
    r = http.delete(f"/v1/admin/domains/{domain}", headers=admin(shop))
    assert r.status_code == 200, r.text
    assert _stored(stack, domain) is None


def test_another_store_cannot_see_or_remove_the_certificate(http, stack, shop, rival, dns_server):
    domain = _verified_domain(http, shop, dns_server)
    eventually(lambda: _stored(stack, domain), within=10, what=f"{domain}'s certificate")
    assert domain not in _listed(http, rival)
    r = http.delete(f"/v1/admin/domains/{domain}", headers=admin(rival))
    assert r.status_code == 404, r.text
    assert _stored(stack, domain) is not None

    async def rows_seen_as(store_id: str) -> int:
        conn = await asyncpg.connect(stack.app_dsn)
        try:
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.current_store_id', $1, true)", store_id)
                # Names the other store: RLS still hides its row.
                return await conn.fetchval(
                    "SELECT count(*) FROM domain_certificates WHERE store_id = $1 AND domain = $2",
                    int(shop.id),
                    domain,
                )
        finally:
            await conn.close()

    assert asyncio.run(rows_seen_as(rival.id)) == 0
    assert asyncio.run(rows_seen_as(shop.id)) == 1
