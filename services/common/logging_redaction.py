"""Keeps secrets and card data out of every log line, whoever wrote it (our code, grpc, asyncpg).

Two nets: fields whose *name* says they are secret are replaced whole; any string value (the
message, an exception text) is scanned for things that look like secrets whatever they are
called: bearer tokens, our admin tokens, shoppers' session and emailed tokens, password
hashes, Stripe keys and client secrets, and card numbers
(13-19 digits passing the Luhn check, with or without spaces or dashes)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[REDACTED]"

SENSITIVE_KEYS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "token",
        "access_token",
        "admin_token",
        "refresh_token",
        "api_key",
        "x-api-key",
        "password",
        "new_password",
        "current_password",
        "password_hash",
        "session",
        "session_token",
        "x-shopper-session",
        "reset_token",
        "secret",
        "client_secret",
        "card",
        "card_number",
        "cardnumber",
        "pan",
        "cvc",
        "cvv",
        "exp_month",
        "exp_year",
        "payment_method_data",
    }
)

_TOKEN_PATTERNS = re.compile(
    r"(?i:bearer)\s+[A-Za-z0-9._~+/=-]+"  # Authorization header values
    r"|shp(?:at|ss|et)_[A-Za-z0-9_-]+"  # our admin tokens, shopper sessions, emailed tokens
    r"|\$argon2id?\$[A-Za-z0-9$=,+/.-]+"  # password hashes (PHC strings)
    r"|\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]+"  # Stripe API keys
    r"|\b(?:pi|seti)_[A-Za-z0-9]+_secret_[A-Za-z0-9]+"  # Stripe client secrets
    r"|\bwhsec_[A-Za-z0-9]+"  # webhook signing secrets
)
_CARD_CANDIDATE = re.compile(r"(?<![\d])\d(?:[ -]?\d){12,18}(?![\d])")
# Cheap pre-check: a string with neither a run of digits nor a token marker needs no regex.
_MAYBE_SECRET = re.compile(
    r"\d{4}|bearer|shpat_|shpss_|shpet_|\$argon2|_live_|_test_|_secret_|whsec_", re.I
)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    return "[REDACTED-PAN]" if _luhn_ok(digits) else match.group(0)


def redact_text(text: str) -> str:
    if not _MAYBE_SECRET.search(text):
        return text
    text = _TOKEN_PATTERNS.sub(REDACTED, text)
    return _CARD_CANDIDATE.sub(_mask_card, text)


def redact_value(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if depth > 6:
        return value
    if isinstance(value, Mapping):
        return {
            k: REDACTED
            if isinstance(k, str) and k.lower() in SENSITIVE_KEYS
            else redact_value(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(v, depth + 1) for v in value]
    if isinstance(value, bytes | bytearray):
        return redact_text(value.decode("utf-8", "replace"))
    return value


# Fields the logging setup itself fills with ids, names and numbers: nothing to scan.
_TRUSTED_KEYS = frozenset(
    {"ts", "level", "service", "logger", "method", "status", "duration_ms", "store_id"}
    | {"trace_id", "span_id", "_record", "_from_structlog"}
)


def redact_event(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor; runs last before rendering, so it sees the formatted exception."""
    for key, value in event_dict.items():
        if key in _TRUSTED_KEYS:
            continue
        if key.lower() in SENSITIVE_KEYS:
            event_dict[key] = REDACTED
        elif isinstance(value, str):
            event_dict[key] = redact_text(value)
        elif not isinstance(value, int | float | bool | type(None)):
            event_dict[key] = redact_value(value)
    return event_dict
