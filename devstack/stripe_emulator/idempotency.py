"""Idempotency keys as Stripe documents them for API v1.

- Scope: (account, key). POST only; on GET/DELETE a key has no effect.
- The status and body of the first request are saved once the endpoint has begun executing,
  whatever the outcome (a 402 decline, a 500 after the object was created), and every later
  request with the key gets those bytes back with `Idempotent-Replayed: true`.
- Nothing is saved when the request fails validation or conflicts with a request still running
  with the same key (409): such a request may simply be retried.
- The same key with other parameters (or another path) is a 400 `idempotency_error`.
- Keys are pruned after a TTL (24 h by default); a pruned key starts a new request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from devstack.stripe_emulator.errors import StripeError, invalid

MAX_KEY_LENGTH = 255
DEFAULT_TTL = 24 * 3600.0


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Record:
    fingerprint: tuple
    started: float
    request_id: str
    reply: Reply | None = None  # None while the first request is still executing


class IdempotencyStore:
    def __init__(self, ttl: float = DEFAULT_TTL) -> None:
        self.ttl = ttl
        self._records: dict[tuple[str, str], _Record] = {}

    def begin(
        self, account: str, key: str, fingerprint: tuple, request_id: str
    ) -> tuple[Reply, str] | None:
        """Claims the key for this request (None), or returns the saved reply to replay with the
        id of the request that produced it. Raises the 400/409 errors Stripe gives."""
        if len(key) > MAX_KEY_LENGTH:
            raise invalid(
                f"Idempotency-Key must be at most {MAX_KEY_LENGTH} characters long.",
                param="Idempotency-Key",
            )
        now = time.monotonic()
        record = self._records.get((account, key))
        if record is not None and record.reply is not None and now - record.started > self.ttl:
            record = None
        if record is None:
            self._records[(account, key)] = _Record(fingerprint, now, request_id)
            return None
        if record.fingerprint != fingerprint:
            raise StripeError(
                400,
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
            )
        if record.reply is None:
            raise StripeError(
                409,
                "idempotency_error",
                "There is currently another in-progress request using this Stripe-Account and "
                f"Idempotency-Key ('{key}'). Try again once it has finished.",
                code="idempotency_key_in_use",
            )
        return record.reply, record.request_id

    def finish(self, account: str, key: str, reply: Reply) -> None:
        record = self._records.get((account, key))
        if record is not None:
            record.reply = reply

    def abandon(self, account: str, key: str) -> None:
        """The request never began executing: the key is free again."""
        record = self._records.get((account, key))
        if record is not None and record.reply is None:
            del self._records[(account, key)]

    def prune(self) -> None:
        now = time.monotonic()
        for scope in [s for s, r in self._records.items() if now - r.started > self.ttl]:
            # A request still running keeps its key however long it takes.
            if self._records[scope].reply is not None:
                del self._records[scope]

    def clear(self) -> None:
        self._records.clear()
