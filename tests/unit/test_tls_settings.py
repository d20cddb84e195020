"""The services' mutual-TLS settings: all three files or none, and without them no caller is
trusted with a store (fail closed), with a message that names what to set."""

from __future__ import annotations

import pytest

from services.common.config import Config, TlsFiles
from services.common.edge_trust import EdgeTrust
from services.common.identities import EDGE_IDENTITY

TLS_VARS = ("TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CA_FILE")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*TLS_VARS, "BIND_ADDRESS", "EDGE_IDENTITY", "HEALTH_PORT"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_loopback_plaintext_and_envoys_identity():
    config = Config.from_env("catalog")
    assert config.bind_address == "127.0.0.1"
    assert config.tls is None
    assert config.edge_identity == EDGE_IDENTITY
    assert config.health_port == 0


def test_all_three_files_make_the_tls_settings(monkeypatch: pytest.MonkeyPatch):
    for name, value in zip(TLS_VARS, ("c.pem", "k.pem", "ca.pem"), strict=True):
        monkeypatch.setenv(name, value)
    assert Config.from_env("catalog").tls == TlsFiles("c.pem", "k.pem", "ca.pem")


def test_a_partial_tls_setting_stops_the_process_naming_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("TLS_CERT_FILE", "c.pem")
    with pytest.raises(SystemExit, match="TLS_KEY_FILE, TLS_CA_FILE must be set as well"):
        TlsFiles.from_env()


def test_without_tls_no_caller_is_the_edge_and_the_refusal_says_why():
    trust = EdgeTrust(None)
    assert not trust.enabled
    message = trust.refusal(context=None, what="x-store-id")  # type: ignore[arg-type]
    assert "no TLS configured" in message and "TLS_CERT_FILE" in message
