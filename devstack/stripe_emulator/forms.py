"""Stripe's form encoding (`metadata[k]=v`, `payment_method_types[0]=card`, `expand[]=x`) into
nested dicts and lists, as the API reads it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from devstack.stripe_emulator.errors import invalid

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
# Containers whose keys are free-form even when they look like indexes.
_MAPS = {"metadata"}


def decode(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if not match:
            raise invalid(f"Invalid parameter name: {key}", param=key)
        path = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = root
        for part in path[:-1]:
            if part == "":
                part = str(len(node))
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        last = path[-1]
        node[str(len(node)) if last == "" else last] = value
    return _lists(root, None)


def _lists(node: Any, name: str | None) -> Any:
    if not isinstance(node, dict):
        return node
    items = {k: _lists(v, k) for k, v in node.items()}
    if name not in _MAPS and items and all(k.isdigit() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items


def fingerprint(method: str, path: str, pairs: Iterable[tuple[str, str]]) -> tuple:
    """What "the same parameters" means for an idempotency key: order of fields is irrelevant."""
    return (method, path, tuple(sorted(pairs)))
