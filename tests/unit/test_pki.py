"""The mesh's local CA (services/common/pki.py): leaves carry exactly the names asked for, the
usages asked for, and are signed by the CA."""

from __future__ import annotations

import ipaddress

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from services.common import pki


def test_a_leaf_carries_its_names_and_is_signed_by_the_ca():
    ca = pki.make_ca("test CA")
    leaf = pki.issue(
        ca,
        "store",
        dns_names=["store", "localhost"],
        uris=["spiffe://shop.internal/store"],
        ip_addresses=["127.0.0.1"],
        client=False,
    )
    leaf.certificate.verify_directly_issued_by(ca.certificate)
    names = leaf.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["store", "localhost"]
    assert names.get_values_for_type(x509.UniformResourceIdentifier) == [
        "spiffe://shop.internal/store"
    ]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    usages = leaf.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH]
    basic = ca.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert basic.ca and basic.path_length == 0


def test_pem_round_trips():
    ca = pki.make_ca("test CA")
    again = pki.load(ca.cert_pem, ca.key_pem)
    assert again.certificate == ca.certificate
    assert b"BEGIN PRIVATE KEY" in ca.key_pem


def test_a_leaf_needs_a_name_and_a_usage():
    ca = pki.make_ca("test CA")
    with pytest.raises(ValueError, match="at least one"):
        pki.issue(ca, "nameless")
    with pytest.raises(ValueError, match="server, a client"):
        pki.issue(ca, "useless", uris=["spiffe://x/y"], server=False, client=False)
