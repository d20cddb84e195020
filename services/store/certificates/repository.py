"""Certificates and HTTP-01 challenges in PostgreSQL. Each statement runs in the domain's
store's tenant transaction and names its store; the worker finds due domains of every store
through `platform.domains_needing_certificates` only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.common.db import tenant_transaction
from services.store.certificates.issuers import IssuedCertificate
from services.store.certificates.rules import CertificateRecord


@dataclass(frozen=True)
class DueDomain:
    store_id: int
    domain: str


@dataclass(frozen=True)
class StoredCertificate:
    record: CertificateRecord
    chain_pem: bytes
    sealed_key: bytes
    issuer: str


class CertificateRepository:
    def __init__(self, pool: asyncpg.Pool, control_pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._control = control_pool

    async def due(self, now: datetime, failed_before: datetime, limit: int) -> list[DueDomain]:
        rows = await self._control.fetch(
            "SELECT store_id, domain FROM platform.domains_needing_certificates($1, $2, $3)",
            now,
            failed_before,
            limit,
        )
        return [DueDomain(r["store_id"], r["domain"]) for r in rows]

    async def save(
        self, store_id: int, issued: IssuedCertificate, sealed_key: bytes, renew_after: datetime
    ) -> bool:
        """Stores the certificate (replacing the one it renews) and stamps the domain; False
        when the domain was removed or un-verified meanwhile (the certificate is dropped)."""
        record = issued.record
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            stamped = await conn.fetchval(
                """UPDATE store_domains
                   SET ssl_provisioned_at = now(), ssl_expires_at = $3, ssl_renew_after = $4,
                       ssl_failed_at = NULL
                   WHERE store_id = $1 AND domain = $2 AND verified_at IS NOT NULL
                   RETURNING domain""",
                store_id,
                record.domain,
                record.not_after,
                renew_after,
            )
            if stamped is None:
                return False
            await conn.execute(
                """INSERT INTO domain_certificates
                       (store_id, domain, serial, not_before, not_after, chain_pem, sealed_key,
                        issuer, issued_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
                   ON CONFLICT (store_id, domain) DO UPDATE
                   SET serial = excluded.serial, not_before = excluded.not_before,
                       not_after = excluded.not_after, chain_pem = excluded.chain_pem,
                       sealed_key = excluded.sealed_key, issuer = excluded.issuer,
                       issued_at = excluded.issued_at""",
                store_id,
                record.domain,
                record.serial,
                record.not_before,
                record.not_after,
                issued.chain_pem.decode(),
                sealed_key,
                issued.issuer,
            )
            # The challenges of this order are answered; the edge needs them no more.
            await conn.execute(
                "DELETE FROM acme_challenges WHERE store_id = $1 AND domain = $2",
                store_id,
                record.domain,
            )
        return True

    async def record_failure(self, store_id: int, domain: str) -> None:
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            await conn.execute(
                "UPDATE store_domains SET ssl_failed_at = now()"
                " WHERE store_id = $1 AND domain = $2",
                store_id,
                domain,
            )

    async def get(self, store_id: int, domain: str) -> StoredCertificate | None:
        async with tenant_transaction(self._pool, store_id=store_id, readonly=True) as conn:
            row = await conn.fetchrow(
                """SELECT domain, serial, not_before, not_after, chain_pem, sealed_key, issuer
                   FROM domain_certificates WHERE store_id = $1 AND domain = $2""",
                store_id,
                domain,
            )
        if row is None:
            return None
        return StoredCertificate(
            record=CertificateRecord(
                row["domain"], row["not_before"], row["not_after"], row["serial"]
            ),
            chain_pem=row["chain_pem"].encode(),
            sealed_key=bytes(row["sealed_key"]),
            issuer=row["issuer"],
        )

    async def put_challenge(
        self, store_id: int, domain: str, token: str, key_authorization: str
    ) -> None:
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            await conn.execute(
                """INSERT INTO acme_challenges (store_id, domain, token, key_authorization,
                                                created_at)
                   VALUES ($1, $2, $3, $4, now())
                   ON CONFLICT (store_id, domain, token)
                   DO UPDATE SET key_authorization = excluded.key_authorization""",
                store_id,
                domain,
                token,
                key_authorization,
            )

    async def challenge_answer(self, store_id: int, domain: str, token: str) -> str | None:
        """What /.well-known/acme-challenge/<token> on `domain` answers (the key
        authorization), or None: the lookup the edge will use."""
        async with tenant_transaction(self._pool, store_id=store_id, readonly=True) as conn:
            answer: str | None = await conn.fetchval(
                """SELECT key_authorization FROM acme_challenges
                   WHERE store_id = $1 AND domain = $2 AND token = $3""",
                store_id,
                domain,
                token,
            )
        return answer
