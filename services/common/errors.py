"""Domain errors. Raised by domain and repository code, which knows nothing of gRPC; the
entrypoint maps each kind to a status code in one place (services.common.status)."""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """Base for errors a caller can act on. The message is shown to the caller as-is.

    `code` is the canonical status number (google.rpc.Code, the numbering gRPC uses), so an
    outcome can be stored and replayed without this layer knowing gRPC."""

    code = 2  # UNKNOWN

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class InvalidArgument(DomainError):
    """The request itself is wrong; names the offending fields."""

    code = 3

    def __init__(self, violations: list[FieldViolation] | FieldViolation) -> None:
        if isinstance(violations, FieldViolation):
            violations = [violations]
        self.violations = violations
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in violations))

    @classmethod
    def field(cls, field: str, description: str) -> InvalidArgument:
        return cls(FieldViolation(field, description))


class NotFound(DomainError):
    code = 5


class AlreadyExists(DomainError):
    code = 6


class FailedPrecondition(DomainError):
    code = 9


class Aborted(DomainError):
    """A concurrency conflict: retrying (possibly after re-reading) can succeed."""

    code = 10


class PermissionDenied(DomainError):
    code = 7


class Unauthenticated(DomainError):
    code = 16


class ResourceExhausted(DomainError):
    """A limit was hit; `retry_after` (seconds), when known, travels as google.rpc.RetryInfo."""

    code = 8

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """A dependency is down or timed out; the same call may succeed later."""

    code = 14


class Validator:
    """Collects every field violation of a request so the caller can fix them all at once."""

    def __init__(self) -> None:
        self.violations: list[FieldViolation] = []

    def fail(self, field: str, description: str) -> None:
        self.violations.append(FieldViolation(field, description))

    def check(self, ok: bool, field: str, description: str) -> bool:
        if not ok:
            self.fail(field, description)
        return ok

    def raise_if_any(self) -> None:
        if self.violations:
            raise InvalidArgument(self.violations)


_BY_CODE: dict[int, type[DomainError]] = {
    cls.code: cls
    for cls in (
        NotFound,
        AlreadyExists,
        FailedPrecondition,
        Aborted,
        PermissionDenied,
        Unauthenticated,
        ResourceExhausted,
        Unavailable,
    )
}


def error_from_code(code: int, message: str) -> DomainError:
    """The domain error for a stored status code (e.g. a replayed idempotent outcome)."""
    if code == InvalidArgument.code:
        return InvalidArgument.field("request", message)
    return _BY_CODE.get(code, FailedPrecondition)(message)
