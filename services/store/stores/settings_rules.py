"""Store settings a merchant edits: name, theme, low-stock threshold and a free-form settings
object checked against a JSON schema (so storefront themes can rely on its shape)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from services.common import limits
from services.common.errors import Validator

THEME_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
MAX_LOW_STOCK_THRESHOLD = 1_000_000
MAX_SETTINGS_BYTES = 16 * 1024

_URL = {"type": "string", "pattern": "^https://[^\\s]+$", "maxLength": 2048}
_COLOR = {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"}
_EMAIL = {"type": "string", "pattern": "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", "maxLength": 254}
# "x-public": a storefront may show the setting to anyone (Shop.GetShop, no token); every other
# setting is for the merchant's admin only. Validators ignore the keyword.
PUBLIC = "x-public"

SETTINGS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "announcement": {"type": "string", "maxLength": 280, PUBLIC: True},
        "contact_email": {**_EMAIL, PUBLIC: True},
        "support_phone": {"type": "string", "pattern": "^\\+?[0-9 ()-]{4,32}$", PUBLIC: True},
        "logo_url": {**_URL, PUBLIC: True},
        # Staff who get a copy of order notifications: the merchant's own, never shown.
        "staff_notification_emails": {
            "type": "array",
            "maxItems": 10,
            "uniqueItems": True,
            "items": _EMAIL,
        },
        "colors": {
            PUBLIC: True,
            "type": "object",
            "additionalProperties": False,
            "properties": {"primary": _COLOR, "accent": _COLOR, "background": _COLOR},
        },
        "social_links": {
            PUBLIC: True,
            "type": "object",
            "maxProperties": 10,
            "propertyNames": {"pattern": "^[a-z][a-z0-9_]{0,31}$"},
            "additionalProperties": _URL,
        },
        "checkout": {
            PUBLIC: True,
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "require_phone": {"type": "boolean"},
                "order_notes": {"type": "boolean"},
                "tipping_percentages": {
                    "type": "array",
                    "maxItems": 3,
                    "items": {"type": "number", "minimum": 0, "maximum": 100},
                },
            },
        },
        "languages": {
            PUBLIC: True,
            "type": "array",
            "maxItems": 20,
            "uniqueItems": True,
            "items": {"type": "string", "pattern": "^[a-z]{2}(-[A-Z]{2})?$"},
        },
    },
}
_VALIDATOR = Draft202012Validator(SETTINGS_SCHEMA)


PUBLIC_SETTINGS = frozenset(
    name for name, schema in SETTINGS_SCHEMA["properties"].items() if schema.get(PUBLIC)
)


def public_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings a storefront may show anyone; the others never leave the admin API."""
    return {k: v for k, v in settings.items() if k in PUBLIC_SETTINGS}


@dataclass(frozen=True)
class SettingsChange:
    """Only the fields that are not None change."""

    name: str | None = None
    theme_id: str | None = None
    low_stock_threshold: int | None = None
    settings: dict[str, Any] | None = field(default=None)

    def is_empty(self) -> bool:
        return all(
            v is None for v in (self.name, self.theme_id, self.low_stock_threshold, self.settings)
        )


def _path(error: ValidationError) -> str:
    where = "settings"
    for part in error.absolute_path:
        where += f"[{part}]" if isinstance(part, int) else f".{part}"
    return where


def settings_violations(settings: dict[str, Any], v: Validator) -> None:
    # Before the schema: its validator recurses, and no setting nests more than a few levels.
    if limits.json_depth(settings) > limits.MAX_SETTINGS_DEPTH:
        v.fail("settings", f"must nest at most {limits.MAX_SETTINGS_DEPTH} levels")
        return
    if len(json.dumps(settings, separators=(",", ":"))) > MAX_SETTINGS_BYTES:
        v.fail("settings", f"must be at most {MAX_SETTINGS_BYTES} bytes of JSON")
        return
    for error in sorted(_VALIDATOR.iter_errors(settings), key=lambda e: list(e.absolute_path)):
        v.fail(_path(error), error.message)


def validate_settings_change(
    *,
    name: str | None,
    theme_id: str | None,
    low_stock_threshold: int | None,
    settings: dict[str, Any] | None,
) -> SettingsChange:
    v = Validator()
    if name is not None:
        name = name.strip()
        if limits.check_text(v, "name", name, limits.NAME):
            v.check(bool(name), "name", f"must be 1 to {limits.NAME} characters")
    if theme_id is not None:
        theme_id = theme_id.strip()
        v.check(
            bool(THEME_ID_RE.match(theme_id)),
            "theme_id",
            "must be 1 to 63 characters of a-z, 0-9 and '-', starting with a letter or digit",
        )
    if low_stock_threshold is not None:
        v.check(
            0 <= low_stock_threshold <= MAX_LOW_STOCK_THRESHOLD,
            "low_stock_threshold",
            f"must be between 0 and {MAX_LOW_STOCK_THRESHOLD}",
        )
    if settings is not None:
        settings_violations(settings, v)
    change = SettingsChange(name, theme_id, low_stock_threshold, settings)
    if change.is_empty():
        v.fail("request", "set at least one of name, theme_id, low_stock_threshold or settings")
    v.raise_if_any()
    return change
