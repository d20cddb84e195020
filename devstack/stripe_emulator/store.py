"""Objects in memory, each owned by one account ("" is the platform, else the `Stripe-Account`
a request named): another account's object is `resource_missing`, as on Stripe.

The emulator runs on one asyncio event loop and every change to state is plain synchronous code
with no `await` inside, so a read-check-write (an over-refund check, an idempotency claim) can
never interleave with another request: that is the guard."""

from __future__ import annotations

import itertools
import secrets
import string
from typing import Any

from devstack.stripe_emulator.errors import missing

_ALPHABET = string.ascii_letters + string.digits
PLATFORM = ""


def random_string(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(prefix: str, length: int = 24) -> str:
    return f"{prefix}_{random_string(length)}"


class ObjectStore:
    def __init__(self) -> None:
        self._objects: dict[str, tuple[str, int, dict[str, Any]]] = {}
        self._seq = itertools.count()
        # Objects handed out since the last drain: the ones a request may have changed, which the
        # search index compares with what it last saw (World.settle).
        self._touched: list[dict[str, Any]] = []

    def add(self, account: str, obj: dict[str, Any]) -> dict[str, Any]:
        self._objects[obj["id"]] = (account, next(self._seq), obj)
        self._touched.append(obj)
        return obj

    def get(
        self, account: str, kind: str, object_id: str, param: str = "id", label: str | None = None
    ) -> dict[str, Any]:
        """`label` is how Stripe names the kind in "No such …" (e.g. PaymentMethod)."""
        entry = self._objects.get(object_id)
        if entry is None or entry[0] != account or entry[2]["object"] != kind:
            raise missing(label or kind, object_id, param)
        self._touched.append(entry[2])
        return entry[2]

    def owner(self, object_id: str) -> str | None:
        entry = self._objects.get(object_id)
        return entry[0] if entry else None

    def find(self, object_id: str, kind: str | None = None) -> dict[str, Any] | None:
        """Any account's object (control API only)."""
        entry = self._objects.get(object_id)
        if entry is None or (kind is not None and entry[2]["object"] != kind):
            return None
        self._touched.append(entry[2])
        return entry[2]

    def drop(self, object_id: str) -> None:
        self._objects.pop(object_id, None)

    def drain_touched(self) -> list[dict[str, Any]]:
        touched, self._touched = self._touched, []
        return touched

    def all(self, account: str, kind: str) -> list[dict[str, Any]]:
        """Newest first, as Stripe lists."""
        rows = [
            (seq, obj)
            for (acct, seq, obj) in self._objects.values()
            if acct == account and obj["object"] == kind
        ]
        return [obj for _, obj in sorted(rows, key=lambda r: r[0], reverse=True)]

    def clear(self) -> None:
        self._objects.clear()
        self._touched.clear()
