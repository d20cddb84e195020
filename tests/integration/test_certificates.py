"""Certificates in PostgreSQL: the ACME client's HTTP-01 key authorization stored where the
edge will look it up (and nowhere another store can), renewal of a due certificate by the
worker, and removal of a domain taking its certificate and challenges with it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric import ec

from services.common.db import create_pool, tenant_transaction
from services.store.certificates.acme import key_authorization
from services.store.certificates.issuers import LocalCaIssuer
from services.store.certificates.provisioning import CertificateProvisioner
from services.store.certificates.repository import CertificateRepository
from services.store.certificates.sealing import KeySealer
from tests.integration.conftest import make_store
from tests.unit.test_acme_client import TOKEN, Challenges, RecordedCa, issue_with


async def _verified_domain(pool: asyncpg.Pool, store_id: int) -> str:
    domain = f"cert-{uuid.uuid4().hex[:8]}.example.com"
    async with tenant_transaction(pool, store_id=store_id) as conn:
        await conn.execute(
            "INSERT INTO store_domains (store_id, domain, verification_token, verified_at)"
            " VALUES ($1, $2, 't', now())",
            store_id,
            domain,
        )
    return domain


async def _remove(pool: asyncpg.Pool, store_id: int, domain: str) -> None:
    async with tenant_transaction(pool, store_id=store_id) as conn:
        await conn.execute(
            "DELETE FROM store_domains WHERE store_id = $1 AND domain = $2", store_id, domain
        )


class _Published(Challenges):
    """Publishes into the real table, and remembers what it published for the recorded CA's
    check."""

    def __init__(self, repo: CertificateRepository) -> None:
        super().__init__()
        self._repo = repo

    async def put_challenge(self, store_id, domain, token, key_authorization):
        await self._repo.put_challenge(store_id, domain, token, key_authorization)
        await super().put_challenge(store_id, domain, token, key_authorization)


async def test_the_http01_answer_is_stored_for_the_domain_and_only_its_store_sees_it(
    database, app_pool
):
    control = await create_pool(database.control_dsn, 2)
    try:
        repo = CertificateRepository(app_pool, control)
        a, b = await make_store(app_pool), await make_store(app_pool)
        domain = await _verified_domain(app_pool, a)
        key = ec.generate_private_key(ec.SECP256R1())
        ca = RecordedCa(_Published(repo), domain=domain, store_id=a)
        issued = await issue_with(ca, key)

        answer = await repo.challenge_answer(a, domain, TOKEN)
        # What the CA fetched (checked in the recorded exchange) is what the table holds.
        assert answer == ca.challenges.answers[(a, domain, TOKEN)] == key_authorization(TOKEN, key)
        # Another store, naming the domain and token: nothing.
        assert await repo.challenge_answer(b, domain, TOKEN) is None
        assert await repo.challenge_answer(a, domain, "other-token") is None

        sealer = KeySealer.from_setting(Fernet.generate_key().decode())
        assert await repo.save(a, issued, sealer.seal(issued.key_pem), issued.record.renew_after())
        # Answered: the challenge is gone once the certificate is stored.
        assert await repo.challenge_answer(a, domain, TOKEN) is None
        stored = await repo.get(a, domain)
        assert stored is not None and stored.issuer == "acme"
        assert sealer.open(stored.sealed_key) == issued.key_pem
        assert await repo.get(b, domain) is None

        await repo.put_challenge(a, domain, TOKEN, "left-over")
        await _remove(app_pool, a, domain)
        assert await repo.get(a, domain) is None
        assert await repo.challenge_answer(a, domain, TOKEN) is None
    finally:
        await control.close()


async def test_a_certificate_due_for_renewal_is_replaced(
    database, app_pool, db_admin_dsn, tmp_path
):
    control = await create_pool(database.control_dsn, 2)
    try:
        repo = CertificateRepository(app_pool, control)
        store = await make_store(app_pool)
        domain = await _verified_domain(app_pool, store)
        sealer = KeySealer.from_setting(Fernet.generate_key().decode())
        worker = CertificateProvisioner(
            repo, LocalCaIssuer.from_directory(tmp_path / "ca"), sealer, interval=60, retry_after=60
        )
        # Other verified domains of this database may be issued too; this one must be.
        while await worker.run_once():
            pass
        first = await repo.get(store, domain)
        assert first is not None

        admin = await asyncpg.connect(db_admin_dsn)
        try:
            await admin.execute(
                "UPDATE store_domains SET ssl_renew_after = now() - interval '1 second'"
                " WHERE store_id = $1 AND domain = $2",
                store,
                domain,
            )
            while await worker.run_once():
                pass
            row = await admin.fetchrow(
                "SELECT ssl_expires_at, ssl_renew_after FROM store_domains"
                " WHERE store_id = $1 AND domain = $2",
                store,
                domain,
            )
        finally:
            await admin.close()
        second = await repo.get(store, domain)
        assert second is not None and second.record.serial != first.record.serial
        assert row["ssl_expires_at"] == second.record.not_after
        assert row["ssl_renew_after"] == second.record.renew_after()
        assert row["ssl_renew_after"] > datetime.now(UTC) + timedelta(days=50)
        await _remove(app_pool, store, domain)
    finally:
        await control.close()
