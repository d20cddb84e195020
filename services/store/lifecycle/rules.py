"""A store's life: active, suspended, closed (then erased after a grace period), and the plan it
is on. The transitions are decided here, as plain Python: no gRPC, SQL or Redis.

    active ──suspend──▶ suspended ──reinstate──▶ active
    active | suspended ──close──▶ closed ──(grace over)──▶ erasing ──▶ gone
    closed ──reinstate──▶ active        (only before the erasure has begun)

Asking for the state a store is already in changes nothing (a retried call is harmless)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from services.common.errors import FailedPrecondition, InvalidArgument
from services.common.plans import PLANS

MAX_REASON = 500


class Status(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


@dataclass(frozen=True)
class Lifecycle:
    status: Status
    plan: str
    status_reason: str | None = None
    suspended_at: datetime | None = None
    closed_at: datetime | None = None
    erase_after: datetime | None = None
    erase_started_at: datetime | None = None

    def audit_view(self) -> dict[str, str | None]:
        """What the audit trail keeps of a store: platform-controlled fields only, never the
        merchant's data (the trail outlives the store)."""

        def iso(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "status": self.status.value,
            "plan": self.plan,
            "status_reason": self.status_reason,
            "suspended_at": iso(self.suspended_at),
            "closed_at": iso(self.closed_at),
            "erase_after": iso(self.erase_after),
            "erase_started_at": iso(self.erase_started_at),
        }


def validate_reason(raw: str, *, required: bool) -> str | None:
    reason = raw.strip()
    if "\x00" in reason:
        raise InvalidArgument.field("reason", "must not contain NUL characters")
    if len(reason) > MAX_REASON:
        raise InvalidArgument.field("reason", f"must be at most {MAX_REASON} characters")
    if required and not reason:
        raise InvalidArgument.field("reason", "is required: say why, for the audit trail")
    return reason or None


def validate_plan(raw: str) -> str:
    plan = raw.strip().lower()
    if plan not in PLANS:
        raise InvalidArgument.field("plan", f"must be one of {', '.join(PLANS)}")
    return plan


def change_plan(current: Lifecycle, plan: str) -> Lifecycle:
    if current.status is Status.CLOSED:
        raise FailedPrecondition("the store is closed; reinstate it before changing its plan")
    return replace(current, plan=plan)


def suspend(current: Lifecycle, reason: str | None, now: datetime) -> Lifecycle:
    if current.status is Status.SUSPENDED:
        return current
    if current.status is Status.CLOSED:
        raise FailedPrecondition("the store is closed; a closed store cannot be suspended")
    return replace(current, status=Status.SUSPENDED, status_reason=reason, suspended_at=now)


def reinstate(current: Lifecycle) -> Lifecycle:
    if current.status is Status.ACTIVE:
        return current
    if current.erase_started_at is not None:
        raise FailedPrecondition(
            "the store's erasure has begun (shop/redact was sent); it cannot be reinstated"
        )
    return replace(
        current,
        status=Status.ACTIVE,
        status_reason=None,
        suspended_at=None,
        closed_at=None,
        erase_after=None,
    )


def close(current: Lifecycle, reason: str | None, now: datetime, grace: timedelta) -> Lifecycle:
    if current.status is Status.CLOSED:
        return current
    return replace(
        current,
        status=Status.CLOSED,
        status_reason=reason,
        suspended_at=None,
        closed_at=now,
        erase_after=now + grace,
    )
