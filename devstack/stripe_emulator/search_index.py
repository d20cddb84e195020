"""What Stripe's search sees: each object as it was `lag` seconds ago.

Stripe: "Don't use search in read-after-write flows where strict consistency is necessary. Under
normal operating conditions, data is searchable in less than a minute. Occasionally, propagation
of new or updated data can be up to an hour behind during outages." So a new object is invisible
to search for `lag` seconds and a changed one shows its old state for as long; list and retrieve
are never behind. The index keeps, per object, the versions that search may still need."""

from __future__ import annotations

import copy
import time
from typing import Any

SEARCHABLE = {"payment_intent", "charge"}
DEFAULT_LAG_SECONDS = 60.0


class SearchIndex:
    def __init__(self, lag: float = DEFAULT_LAG_SECONDS) -> None:
        self.lag = lag
        self._versions: dict[str, list[tuple[float, dict[str, Any]]]] = {}

    def record(self, obj: dict[str, Any], now: float | None = None) -> None:
        """Called after a request with every object it may have changed."""
        if obj.get("object") not in SEARCHABLE:
            return
        now = time.time() if now is None else now
        versions = self._versions.setdefault(obj["id"], [])
        if versions and versions[-1][1] == obj:
            return
        versions.append((now, copy.deepcopy(obj)))
        self._prune(versions, now)

    def as_searched(self, obj: dict[str, Any], now: float | None = None) -> dict[str, Any] | None:
        """The version of `obj` that search returns now, or None while it is not searchable."""
        now = time.time() if now is None else now
        versions = self._versions.get(obj["id"], [])
        visible = None
        for at, version in versions:
            if at <= now - self.lag:
                visible = version
        self._prune(versions, now)
        return visible

    def _prune(self, versions: list[tuple[float, dict[str, Any]]], now: float) -> None:
        # Keep the newest version search can already see and everything after it.
        cutoff = now - self.lag
        seen = [i for i, (at, _) in enumerate(versions) if at <= cutoff]
        if len(seen) > 1:
            del versions[: seen[-1]]

    def clear(self) -> None:
        self._versions.clear()
