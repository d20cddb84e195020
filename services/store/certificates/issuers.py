"""Issuance behind one interface. `LocalCaIssuer` signs with a local CA (services/common/pki.py):
`make run` and the tests. `AcmeIssuer` (acme.py) asks an RFC 8555 CA (Let's Encrypt) with
HTTP-01 challenges: production."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cryptography import x509

from services.common import pki
from services.store.certificates.rules import CertificateRecord


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate chain (leaf first, PEM) with its private key (PKCS#8 PEM, in the clear:
    sealed before it is stored, never logged — hence repr=False)."""

    record: CertificateRecord
    chain_pem: bytes
    key_pem: bytes = field(repr=False)
    issuer: str


def record_of(domain: str, certificate: x509.Certificate) -> CertificateRecord:
    return CertificateRecord(
        domain=domain,
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        serial=format(certificate.serial_number, "x"),
    )


class Issuer(Protocol):
    name: str

    async def issue(self, store_id: int, domain: str) -> IssuedCertificate:
        """A certificate for `domain` (a verified custom domain of the store), or an
        exception."""
        ...


class LocalCaIssuer:
    """Signs with a CA kept in a directory (ca.pem, ca-key.pem), made there when missing."""

    name = "local"

    def __init__(self, ca: pki.Issued, *, days: int = pki.DEFAULT_LEAF_DAYS) -> None:
        self._ca = ca
        self._days = days

    @property
    def ca_pem(self) -> bytes:
        return self._ca.cert_pem

    @classmethod
    def from_directory(cls, directory: Path, *, days: int = pki.DEFAULT_LEAF_DAYS) -> LocalCaIssuer:
        cert, key = directory / "ca.pem", directory / "ca-key.pem"
        if cert.exists() and key.exists():
            return cls(pki.load(cert.read_bytes(), key.read_bytes()), days=days)
        directory.mkdir(parents=True, exist_ok=True)
        ca = pki.make_ca("shop storefront CA (local)")
        # Key first, owner-only, so a half-written directory never holds a readable key.
        key.touch(mode=0o600)
        key.write_bytes(ca.key_pem)
        cert.write_bytes(ca.cert_pem)
        return cls(ca, days=days)

    async def issue(self, store_id: int, domain: str) -> IssuedCertificate:
        leaf = pki.issue(self._ca, domain, dns_names=[domain], client=False, days=self._days)
        chain = leaf.cert_pem + self._ca.cert_pem
        return IssuedCertificate(
            record=record_of(domain, leaf.certificate),
            chain_pem=chain,
            key_pem=leaf.key_pem,
            issuer=self.name,
        )
