"""Faults and latency that tests inject at run time through the control API. A rule applies to
API requests whose path matches its glob (`/v1/payment_intents`, `/v1/payment_intents/*/confirm`),
whose method matches (any when unset) and whose form fields include every `match` pair
(flat names as sent: `{"metadata[sku]": "HOT-1"}`)."""

from __future__ import annotations

import fnmatch
import itertools
from dataclasses import asdict, dataclass, field
from typing import Any

# refund_pending is not a failure of the API: the next matching POST /v1/refunds makes a refund
# that stays `pending` until the control API settles it (refunds.py).
KINDS = ("error_after_create", "error_before_create", "timeout", "rate_limit", "refund_pending")
_ids = itertools.count(1)


class RuleError(ValueError):
    pass


@dataclass
class Rule:
    id: int
    path: str = "*"
    method: str | None = None
    match: dict[str, str] = field(default_factory=dict)

    def applies(self, method: str, path: str, fields: dict[str, str]) -> bool:
        if self.method and self.method.upper() != method:
            return False
        if not fnmatch.fnmatchcase(path, self.path):
            return False
        return all(fields.get(k) == v for k, v in self.match.items())


@dataclass
class Fault(Rule):
    kind: str = "error_after_create"
    times: int | None = 1  # None: every matching request until cleared
    seconds: float = 10.0  # how long a "timeout" holds the response


@dataclass
class Latency(Rule):
    ms: float = 0.0


def _common(spec: dict[str, Any], default_method: str | None) -> dict[str, Any]:
    path = spec.get("path", "*")
    method = spec.get("method", default_method)
    match = spec.get("match") or {}
    if not isinstance(path, str) or (method is not None and not isinstance(method, str)):
        raise RuleError("path and method must be strings")
    if not isinstance(match, dict):
        raise RuleError("match must be an object of form field → value")
    return {
        "id": next(_ids),
        "path": path,
        "method": method,
        "match": {k: str(v) for k, v in match.items()},
    }


def parse_fault(spec: dict[str, Any]) -> Fault:
    kind = spec.get("kind")
    if kind not in KINDS:
        raise RuleError(f"kind must be one of {', '.join(KINDS)}")
    times = spec.get("times", 1)
    if times is not None and (not isinstance(times, int) or times < 1):
        raise RuleError("times must be a positive integer or null (always)")
    seconds = spec.get("seconds", 10.0)
    if not isinstance(seconds, int | float) or seconds < 0:
        raise RuleError("seconds must be a non-negative number")
    # Faults are about writes unless a test says otherwise: a GET of the same path is spared.
    return Fault(kind=kind, times=times, seconds=float(seconds), **_common(spec, "POST"))


def parse_latency(spec: dict[str, Any]) -> Latency:
    ms = spec.get("ms")
    if not isinstance(ms, int | float) or ms < 0:
        raise RuleError("ms must be a non-negative number")
    return Latency(ms=float(ms), **_common(spec, None))


class Rules:
    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.latencies: list[Latency] = []

    def take(self, kind: str, method: str, path: str, fields: dict[str, str]) -> Fault | None:
        """The first matching fault of this kind, counting one use of it."""
        for fault in self.faults:
            if fault.kind == kind and fault.applies(method, path, fields):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times == 0:
                        self.faults.remove(fault)
                return fault
        return None

    def delay(self, method: str, path: str, fields: dict[str, str]) -> float:
        """Seconds to add: the largest matching rule's (a general and a specific rule don't add
        up)."""
        matching = [r.ms for r in self.latencies if r.applies(method, path, fields)]
        return max(matching, default=0.0) / 1000

    def describe(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "faults": [asdict(f) for f in self.faults],
            "latency": [asdict(r) for r in self.latencies],
        }

    def clear(self) -> None:
        self.faults.clear()
        self.latencies.clear()
