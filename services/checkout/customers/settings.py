"""Settings of shoppers' accounts (sessions, tokens, throttling, password hashing), from
environment variables with the documented defaults."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.common.config import env_int


@dataclass(frozen=True)
class Argon2Settings:
    """Defaults: OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane), about 29 ms of CPU per
    hash on a quiet 2-core machine of this project (README, "Customers and accounts")."""

    time_cost: int = 2
    memory_kib: int = 19456
    parallelism: int = 1
    # Hashes computed at once per process; more wait their turn.
    workers: int = 2

    @classmethod
    def from_env(cls) -> Argon2Settings:
        return cls(
            time_cost=env_int("ARGON2_TIME_COST", 2),
            memory_kib=env_int("ARGON2_MEMORY_KIB", 19456),
            parallelism=env_int("ARGON2_PARALLELISM", 1),
            workers=env_int("ARGON2_WORKERS", 2),
        )


@dataclass(frozen=True)
class AccountSettings:
    # A session lives this long after its last use.
    session_ttl_seconds: int = 30 * 24 * 3600
    reset_token_ttl_seconds: int = 3600
    activation_token_ttl_seconds: int = 24 * 3600
    # Failures allowed per (store, email) and per client address within the window.
    throttle_limit: int = 10
    throttle_window_seconds: int = 15 * 60
    password_min_length: int = 8
    argon2: Argon2Settings = field(default_factory=Argon2Settings)

    @classmethod
    def from_env(cls) -> AccountSettings:
        return cls(
            session_ttl_seconds=env_int("SESSION_TTL_SECONDS", 30 * 24 * 3600),
            reset_token_ttl_seconds=env_int("PASSWORD_RESET_TTL_SECONDS", 3600),
            activation_token_ttl_seconds=env_int("ACTIVATION_TTL_SECONDS", 24 * 3600),
            throttle_limit=env_int("ACCOUNT_THROTTLE_LIMIT", 10),
            throttle_window_seconds=env_int("ACCOUNT_THROTTLE_WINDOW_SECONDS", 15 * 60),
            password_min_length=env_int("PASSWORD_MIN_LENGTH", 8),
            argon2=Argon2Settings.from_env(),
        )
