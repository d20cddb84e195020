"""What a shopper's password may be. Plain Python.

NIST SP 800-63B's rules: a minimum length, a maximum that bounds the hashing input, no
composition rules, Unicode normalised (NFKC) before hashing so the same password typed on two
keyboards is the same password, and a refusal of passwords attackers try first — the 30,000
most common ones of the zxcvbn project's list (from leaked password sets)."""

from __future__ import annotations

import unicodedata
from functools import cache

from zxcvbn.frequency_lists import FREQUENCY_LISTS

from services.common.errors import InvalidArgument

MIN_LENGTH = 8
MAX_LENGTH = 128


@cache
def _common() -> frozenset[str]:
    return frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"])


def normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def is_common(password: str) -> bool:
    return normalise(password).lower() in _common()


def check_new_password(password: str, field: str, min_length: int = MIN_LENGTH) -> str:
    """The password as hashed, or INVALID_ARGUMENT naming `field` and what to do."""
    if "\x00" in password:
        raise InvalidArgument.field(field, "must not contain NUL characters")
    normal = normalise(password)
    if len(normal) < min_length:
        raise InvalidArgument.field(field, f"must be at least {min_length} characters")
    if len(normal) > MAX_LENGTH:
        raise InvalidArgument.field(field, f"must be at most {MAX_LENGTH} characters")
    if normal.lower() in _common():
        raise InvalidArgument.field(
            field, "is one of the most common passwords; choose one that is harder to guess"
        )
    return normal


def candidate(password: str) -> str | None:
    """A password offered at sign-in, as hashed; None when no stored password can match it
    (too long or with NUL: refused without hashing, the same way as a wrong one)."""
    if "\x00" in password or len(password) > 4 * MAX_LENGTH:
        return None
    normal = normalise(password)
    return normal if len(normal) <= MAX_LENGTH else None
