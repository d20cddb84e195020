"""Validation of API parameters (form values arrive as strings). Failures are
invalid_request_errors: the validation phase, so no idempotent result is saved."""

from __future__ import annotations

from typing import Any

from devstack.stripe_emulator import currencies
from devstack.stripe_emulator.errors import invalid

MAX_AMOUNT = 99_999_999  # Stripe's eight-digit ceiling for a charge amount


def integer(params: dict[str, Any], name: str, *, required: bool = False) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        if required:
            raise invalid(f"Missing required param: {name}.", param=name, code="parameter_missing")
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise invalid(
            f"Invalid integer: {raw}", param=name, code="parameter_invalid_integer"
        ) from None


def amount(params: dict[str, Any], name: str = "amount", *, required: bool = True) -> int | None:
    value = integer(params, name, required=required)
    if value is None:
        return None
    if value < 1:
        raise invalid(
            "Amount must be at least 1 (minor units).", param=name, code="amount_too_small"
        )
    if value > MAX_AMOUNT:
        raise invalid(
            f"Amount must be no more than {MAX_AMOUNT}.", param=name, code="amount_too_large"
        )
    return value


def boolean(params: dict[str, Any], name: str) -> bool:
    raw = params.get(name)
    if raw is None or raw in ("", "false"):
        return False
    if raw == "true":
        return True
    raise invalid(f"Invalid boolean: {raw}", param=name, code="parameter_invalid_boolean")


def currency(params: dict[str, Any]) -> str:
    raw = params.get("currency")
    if not raw:
        raise invalid(
            "Missing required param: currency.", param="currency", code="parameter_missing"
        )
    if not (isinstance(raw, str) and len(raw) == 3 and raw.isalpha()):
        raise invalid(f"Invalid currency: {raw}", param="currency", code="parameter_invalid_string")
    return currencies.supported(raw.lower())


def choice(params: dict[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    raw = params.get(name) or default
    if raw not in allowed:
        raise invalid(
            f"Invalid {name}: must be one of {', '.join(allowed)}",
            param=name,
            code="parameter_invalid_string",
        )
    return raw


def text(params: dict[str, Any], name: str) -> str | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise invalid(f"Invalid string: {name}", param=name, code="parameter_invalid_string")
    return raw


def string_list(params: dict[str, Any], name: str, default: list[str]) -> list[str]:
    raw = params.get(name)
    if raw is None:
        return list(default)
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise invalid(f"Invalid array: {name}", param=name, code="parameter_invalid_array")
    return raw


def metadata(params: dict[str, Any], existing: dict[str, str] | None = None) -> dict[str, str]:
    """Stripe's limits: 50 keys, keys up to 40 characters, values up to 500; "" unsets a key."""
    out = dict(existing or {})
    raw = params.get("metadata")
    if raw is None or raw == "":
        return out
    if not isinstance(raw, dict):
        raise invalid("Invalid metadata: must be a hash", param="metadata")
    for key, value in raw.items():
        if not isinstance(value, str):
            raise invalid(f"Invalid metadata[{key}]: must be a string", param=f"metadata[{key}]")
        if len(key) > 40 or len(value) > 500:
            raise invalid(
                "Metadata keys are limited to 40 characters and values to 500.",
                param=f"metadata[{key}]",
            )
        if value == "":
            out.pop(key, None)
        else:
            out[key] = value
    if len(out) > 50:
        raise invalid("Metadata can have at most 50 keys.", param="metadata")
    return out


def known(params: dict[str, Any], allowed: set[str]) -> None:
    for name in params:
        if name not in allowed:
            raise invalid(
                f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
            )


def required_text(params: dict[str, Any], name: str) -> str:
    value = text(params, name)
    if value is None:
        raise invalid(f"Missing required param: {name}.", param=name, code="parameter_missing")
    return value


def non_negative(params: dict[str, Any], name: str) -> int | None:
    value = integer(params, name)
    if value is not None and value < 0:
        raise invalid(
            "This value must be greater than or equal to 0.",
            param=name,
            code="parameter_invalid_integer",
        )
    return value


def url(params: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = required_text(params, name) if required else text(params, name)
    if value is not None and not value.startswith(("http://", "https://")):
        raise invalid(f"Not a valid URL: {name}", param=name, code="url_invalid")
    return value
