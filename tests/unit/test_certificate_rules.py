"""Certificates of custom domains: the renewal rule, which domains need issuance, the local CA
issuer, and private keys sealed at rest and kept out of logs."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from services.store.certificates.acme import load_account_key
from services.store.certificates.issuers import LocalCaIssuer
from services.store.certificates.provisioning import CertificateProvisioner
from services.store.certificates.repository import DueDomain
from services.store.certificates.rules import (
    CertificateRecord,
    IssuanceCandidate,
    domains_to_issue,
    needs_issuance,
)
from services.store.certificates.sealing import KeySealer, KeySealError
from services.store.config import CertificateSettings

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def record(days: float, domain: str = "shop.example.com") -> CertificateRecord:
    return CertificateRecord(domain, T0, T0 + timedelta(days=days), "1a")


def test_a_90_day_certificate_is_renewed_at_day_60():
    cert = record(90)
    assert cert.renew_after() == T0 + timedelta(days=60)
    assert not cert.renewal_due(T0 + timedelta(days=59, hours=23))
    assert cert.renewal_due(T0 + timedelta(days=60))


def test_a_60_day_certificate_is_renewed_30_days_before_expiry():
    # 2/3 would be day 40; the 30-day margin comes first.
    assert record(60).renew_after() == T0 + timedelta(days=30)


def test_a_year_long_certificate_is_renewed_at_two_thirds():
    assert record(365).renew_after() == T0 + timedelta(days=365) * 2 / 3


def test_a_short_certificate_is_renewed_at_two_thirds_of_its_life():
    cert = record(3)
    assert cert.renew_after() == T0 + timedelta(days=2)


def test_a_certificate_must_end_after_it_starts():
    with pytest.raises(ValueError, match="expire after"):
        CertificateRecord("a.example.com", T0, T0, "1")


def test_only_verified_domains_without_a_current_certificate_need_issuance():
    now = T0 + timedelta(days=10)
    candidates = [
        IssuanceCandidate("pending.example.com", verified=False, certificate=None),
        IssuanceCandidate("new.example.com", verified=True, certificate=None),
        IssuanceCandidate("fresh.example.com", verified=True, certificate=record(90)),
        IssuanceCandidate("due.example.com", verified=True, certificate=record(12)),
    ]
    assert domains_to_issue(candidates, now) == ["new.example.com", "due.example.com"]
    assert not needs_issuance(candidates[0], now)


def test_local_ca_issues_a_server_certificate_for_the_domain(tmp_path):
    issuer = LocalCaIssuer.from_directory(tmp_path / "ca", days=30)
    issued = asyncio.run(issuer.issue(7, "shop.example.com"))
    leaf, ca = x509.load_pem_x509_certificates(issued.chain_pem)
    assert ca.public_bytes(serialization.Encoding.PEM) == issuer.ca_pem
    leaf.verify_directly_issued_by(ca)
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["shop.example.com"]
    usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert issued.record.not_after - issued.record.not_before >= timedelta(days=30)
    assert issued.record.serial == format(leaf.serial_number, "x")
    key = serialization.load_pem_private_key(issued.key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.public_key() == leaf.public_key()
    # The key is not in the record's repr (what a log line or a traceback would show).
    assert b"PRIVATE KEY" not in repr(issued).encode()
    # The same CA next time (kept in its directory), its key readable by the owner only.
    again = LocalCaIssuer.from_directory(tmp_path / "ca")
    assert again.ca_pem == issuer.ca_pem
    assert (tmp_path / "ca" / "ca-key.pem").stat().st_mode & 0o077 == 0


def test_sealed_keys_round_trip_and_hold_no_clear_text():
    sealer = KeySealer.from_setting(Fernet.generate_key().decode())
    pem = b"-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMG\n-----END PRIVATE KEY-----\n"
    sealed = sealer.seal(pem)
    assert b"PRIVATE KEY" not in sealed and b"MIGHAgEAMBMG" not in sealed
    assert sealer.open(sealed) == pem


def test_keys_rotate_the_first_seals_every_one_opens():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed_before = KeySealer.from_setting(old).seal(b"key")
    rotated = KeySealer.from_setting(f"{new},{old}")
    assert rotated.open(sealed_before) == b"key"
    assert KeySealer.from_setting(new).open(rotated.seal(b"key")) == b"key"
    with pytest.raises(KeySealError, match="could not be decrypted"):
        KeySealer.from_setting(new).open(sealed_before)


def test_a_bad_sealing_key_is_refused_without_echoing_it():
    with pytest.raises(ValueError, match="32 url-safe base64") as caught:
        KeySealer.from_setting("not-a-real-key-secret")
    assert "not-a-real-key-secret" not in str(caught.value)
    with pytest.raises(ValueError, match="empty"):
        KeySealer.from_setting(" , ")
    assert "hidden" in repr(KeySealer.from_setting(Fernet.generate_key().decode()))


class _MemoryCertificates:
    """Stands in for CertificateRepository in this unit test of the worker's pass."""

    def __init__(self, due: list[DueDomain]) -> None:
        self._due = due
        self.saved: dict[str, bytes] = {}
        self.failed: list[str] = []

    async def due(self, now, failed_before, limit):
        due, self._due = self._due, []
        return due

    async def save(self, store_id, issued, sealed_key, renew_after):
        assert renew_after == issued.record.renew_after()
        self.saved[issued.record.domain] = sealed_key
        return True

    async def record_failure(self, store_id, domain):
        self.failed.append(domain)


class _Failing:
    name = "acme"

    async def issue(self, store_id, domain):
        raise RuntimeError("the CA said no")


def test_the_provisioner_stores_sealed_keys_and_never_logs_a_key(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    key = Fernet.generate_key().decode()
    sealer = KeySealer.from_setting(key)
    repo = _MemoryCertificates([DueDomain(7, "a.example.com"), DueDomain(7, "b.example.com")])
    issuer = LocalCaIssuer.from_directory(tmp_path / "ca")
    worker = CertificateProvisioner(repo, issuer, sealer, interval=60, retry_after=60)  # type: ignore[arg-type]
    assert asyncio.run(worker.run_once()) is False
    assert set(repo.saved) == {"a.example.com", "b.example.com"}
    for sealed in repo.saved.values():
        assert sealer.open(sealed).startswith(b"-----BEGIN PRIVATE KEY-----")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "certificate for a.example.com (store 7) issued by local" in logged
    assert "PRIVATE KEY" not in logged and key not in logged


def test_a_failed_issuance_is_recorded_and_logged_without_a_traceback(caplog):
    caplog.set_level(logging.DEBUG)
    sealer = KeySealer.from_setting(Fernet.generate_key().decode())
    repo = _MemoryCertificates([DueDomain(7, "a.example.com")])
    worker = CertificateProvisioner(repo, _Failing(), sealer, interval=60, retry_after=60)  # type: ignore[arg-type]
    asyncio.run(worker.run_once())
    assert repo.failed == ["a.example.com"] and repo.saved == {}
    assert [r.exc_info for r in caplog.records if "not issued" in r.getMessage()] == [None]


def test_issuance_settings_refuse_what_cannot_work(monkeypatch):
    for name in (
        "CERT_ISSUER",
        "CERT_KEY_ENCRYPTION_KEYS",
        "CERT_ACME_DIRECTORY_URL",
        "CERT_ACME_ACCOUNT_KEY_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    assert CertificateSettings.from_env().issuer == "off"
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("CERT_KEY_ENCRYPTION_KEYS", key)
    settings = CertificateSettings.from_env()
    assert settings.issuer == "local"
    assert key not in repr(settings), "the sealing key stays out of a printed settings object"
    monkeypatch.setenv("CERT_ISSUER", "acme")
    with pytest.raises(ValueError, match="CERT_ACME_DIRECTORY_URL and CERT_ACME_ACCOUNT_KEY"):
        CertificateSettings.from_env()
    monkeypatch.delenv("CERT_KEY_ENCRYPTION_KEYS")
    monkeypatch.setenv("CERT_ISSUER", "local")
    with pytest.raises(ValueError, match="needs CERT_KEY_ENCRYPTION_KEYS"):
        CertificateSettings.from_env()


def test_the_acme_account_key_must_be_p256():
    p256 = ec.generate_private_key(ec.SECP256R1())
    pem = p256.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert load_account_key(pem).public_key() == p256.public_key()
    p384 = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError, match="P-256"):
        load_account_key(p384)
