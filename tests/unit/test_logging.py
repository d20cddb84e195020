"""The JSON log pipeline and its redaction, as every service process configures it."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest
import structlog

from services.common.logging_config import RequestInfo, configure_logging, current_request
from services.common.logging_redaction import redact_text
from services.common.tenancy import current_store_id

TOKEN = "shpat_Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1Njc4"
PAN = "4242424242424242"


@pytest.fixture
def captured(monkeypatch):
    """configure_logging as a service does, writing to a buffer; restored afterwards."""
    out = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    monkeypatch.setattr(sys, "stdout", out)
    configure_logging("catalog", "INFO")
    yield lambda: [json.loads(line) for line in out.getvalue().splitlines()]
    root.handlers[:], root.level = saved
    structlog.reset_defaults()


def test_stdlib_lines_are_json_with_request_context(captured):
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    request = current_request.set(
        RequestInfo("/shop.catalog.v1.Storefront/ListProducts", (("traceparent", traceparent),))
    )
    store = current_store_id.set(42)
    try:
        logging.getLogger("services.catalog").warning("low stock for %s", "SKU-1")
    finally:
        current_store_id.reset(store)
        current_request.reset(request)
    [line] = captured()
    assert line["event"] == "low stock for SKU-1"
    assert line["level"] == "warning"
    assert line["logger"] == "services.catalog"
    assert line["service"] == "catalog"
    assert line["method"] == "/shop.catalog.v1.Storefront/ListProducts"
    assert line["store_id"] == 42
    # No SDK span here: the ids come from the caller's traceparent (Envoy's).
    assert line["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert line["span_id"] == "b7ad6b7169203331"


def test_secrets_are_redacted_in_messages_fields_and_tracebacks(captured):
    log = logging.getLogger("leaky")
    log.info("authorization: Bearer %s", TOKEN)
    log.info("charging card %s", "4242 4242 4242 4242")
    try:
        raise ValueError(f"bad card {PAN} for token {TOKEN}")
    except ValueError:
        log.exception("failed")
    structlog.get_logger().info(
        "checkout", authorization=f"Bearer {TOKEN}", card={"number": PAN, "cvc": "123"}
    )
    lines = captured()
    text = json.dumps(lines)
    assert TOKEN not in text
    assert PAN not in text and "4242 4242 4242 4242" not in text
    assert '"cvc": "123"' not in text
    assert "ValueError" in lines[2]["exception"]  # the traceback itself survives
    assert lines[3]["authorization"] == "[REDACTED]" and lines[3]["card"] == "[REDACTED]"


SESSION = "shpss_dGhpcy1pcy1hLXNlc3Npb24tdG9rZW4tMTIzNDU2Nzg5MA"
EMAILED = "shpet_cmVzZXQtdG9rZW4tZm9yLWEtc2hvcHBlci0xMjM0NTY3OA"
PASSWORD = "plum-otter-91-lantern"
HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"


def test_shoppers_sessions_tokens_and_passwords_are_redacted(captured):
    log = logging.getLogger("accounts")
    log.info("session %s for customer 7", SESSION)
    log.warning("reset link https://s.myshop.localhost/account/reset?token=%s", EMAILED)
    log.info("stored %s", HASH)
    try:
        raise RuntimeError(f"cannot resolve {SESSION}")
    except RuntimeError:
        log.exception("resolve failed")
    structlog.get_logger().info(
        "sign-in",
        password=PASSWORD,
        new_password=PASSWORD,
        current_password=PASSWORD,
        metadata={"x-shopper-session": SESSION, "host": "s.myshop.localhost"},
        session_token=SESSION,
    )
    lines = captured()
    text = json.dumps(lines)
    for secret in (SESSION, EMAILED, PASSWORD, HASH, HASH.split("$")[-1]):
        assert secret not in text, secret
    assert "customer 7" in lines[0]["event"]  # the rest of the line survives
    assert lines[4]["metadata"]["host"] == "s.myshop.localhost"
    assert lines[4]["metadata"]["x-shopper-session"] == "[REDACTED]"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("order 1001 total 123456789012 cents", True),  # not Luhn-valid: an ordinary number
        ("store 12 took 4.2 ms", True),
        ("sk_test_51Habc and pi_3Nabc_secret_xyz", False),
        ("card 5555-5555-5555-4444", False),
    ],
)
def test_redact_text_keeps_ordinary_numbers(text, kept):
    assert (redact_text(text) == text) is kept
