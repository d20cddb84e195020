"""Settings only the Store service reads (custom-domain verification, store lifecycle and the
operator API), from environment variables with local defaults. The shared ones are in
services.common.config."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.common.config import env, env_float, env_int


@dataclass(frozen=True)
class DomainSettings:
    # "IP" or "IP:port" of the resolver to ask; empty: the system's resolv.conf.
    nameserver: str
    # Upper bound of one TXT look-up, retries included.
    dns_timeout: float
    # TXT records live at _<brand>-verify.<domain>.
    brand: str
    # How often a verified domain's record is looked up again, and how long it may be missing
    # before the domain goes back to pending.
    recheck_interval: float
    recheck_grace: float

    @classmethod
    def from_env(cls, platform_domain: str) -> DomainSettings:
        return cls(
            nameserver=env("DNS_NAMESERVER", ""),
            dns_timeout=env_float("DNS_TIMEOUT_SECONDS", 3.0),
            brand=env("DOMAIN_VERIFY_BRAND", platform_domain.split(".")[0]),
            recheck_interval=env_float("DOMAIN_RECHECK_INTERVAL_SECONDS", 3600.0),
            recheck_grace=env_float("DOMAIN_RECHECK_GRACE_SECONDS", 72 * 3600.0),
        )


@dataclass(frozen=True)
class LifecycleSettings:
    # The operator API's role (shop_ops): reads every store, changes one in its tenant
    # transaction, appends the audit trail.
    ops_database_url: str
    # The erase job's role (shop_eraser): deletes a closed store's rows, RLS-bound to it.
    eraser_database_url: str
    # How long a closed store's data is kept before the erase job takes it (30 days).
    close_grace: float
    # How often the erase job looks for stores whose grace period is over.
    erase_interval: float
    # Rows deleted per statement (and per transaction) while erasing.
    erase_batch: int
    # How long the erase waits for shop/redact to be delivered (or given up) before erasing
    # anyway; longer than the webhook retry budget (4 h) so a retried delivery can finish.
    redact_wait: float

    @classmethod
    def from_env(cls) -> LifecycleSettings:
        return cls(
            ops_database_url=env("OPS_DATABASE_URL", "postgresql://shop_ops@127.0.0.1:5432/shop"),
            eraser_database_url=env(
                "ERASER_DATABASE_URL", "postgresql://shop_eraser@127.0.0.1:5432/shop"
            ),
            close_grace=env_float("STORE_CLOSE_GRACE_SECONDS", 30 * 24 * 3600.0),
            erase_interval=env_float("STORE_ERASE_INTERVAL_SECONDS", 60.0),
            erase_batch=env_int("STORE_ERASE_BATCH_ROWS", 500),
            redact_wait=env_float("STORE_ERASE_REDACT_WAIT_SECONDS", 24 * 3600.0),
        )


@dataclass(frozen=True)
class EdgeSettings:
    # "on_demand": Envoy fetches each host's virtual host when it first sees the host (VHDS
    # over delta ADS); "full": every store's virtual host in one route configuration (the
    # state-of-the-world fallback; memory and push time grow with all stores).
    routes: str
    # How long an unknown host's "not found" is reused without asking the database (a store
    # created meanwhile clears it at once).
    absent_ttl_seconds: float
    # The consistency check's period (reads the change log since its last pass).
    check_interval_seconds: float

    @classmethod
    def from_env(cls) -> EdgeSettings:
        routes = env("EDGE_ROUTES", "on_demand")
        if routes not in ("on_demand", "full"):
            raise ValueError(f"EDGE_ROUTES must be on_demand or full, not {routes!r}")
        return cls(
            routes=routes,
            absent_ttl_seconds=env_float("EDGE_ABSENT_TTL_SECONDS", 30.0),
            check_interval_seconds=env_float("EDGE_ROUTE_CHECK_SECONDS", 30.0),
        )


@dataclass(frozen=True)
class CertificateSettings:
    # "local": a local CA (make run, tests; its files in CERT_LOCAL_CA_DIR, made when
    # missing); "acme": an RFC 8555 CA (CERT_ACME_DIRECTORY_URL) with HTTP-01; "off": no
    # issuance (a process without CERT_KEY_ENCRYPTION_KEYS cannot store keys, so it is off).
    issuer: str
    # Fernet keys, comma-separated, the first encrypts (a Kubernetes Secret's value).
    # repr=False: never in a log line that prints the settings.
    encryption_keys: str = field(repr=False)
    local_ca_dir: str
    # Lifetime of a local CA's certificates (days).
    local_days: int
    acme_directory_url: str
    acme_contact_email: str
    # The ACME account's key (PEM, ECDSA P-256): a file from a Kubernetes Secret. Keeping it
    # keeps the account (its rate limits, its authorizations) across restarts.
    acme_account_key_file: str
    # How often due domains are looked for (verification also wakes the worker at once), and
    # how long a domain whose issuance failed waits before the next try.
    interval: float
    retry_after: float

    @classmethod
    def from_env(cls) -> CertificateSettings:
        keys = env("CERT_KEY_ENCRYPTION_KEYS", "")
        issuer = env("CERT_ISSUER", "local" if keys else "off")
        if issuer not in ("local", "acme", "off"):
            raise ValueError(f"CERT_ISSUER must be local, acme or off, not {issuer!r}")
        if issuer != "off" and not keys:
            raise ValueError(f"CERT_ISSUER={issuer} needs CERT_KEY_ENCRYPTION_KEYS")
        if issuer == "acme" and not (
            env("CERT_ACME_DIRECTORY_URL", "") and env("CERT_ACME_ACCOUNT_KEY_FILE", "")
        ):
            raise ValueError(
                "CERT_ISSUER=acme needs CERT_ACME_DIRECTORY_URL and CERT_ACME_ACCOUNT_KEY_FILE"
            )
        return cls(
            issuer=issuer,
            encryption_keys=keys,
            local_ca_dir=env("CERT_LOCAL_CA_DIR", ".run/storefront-ca"),
            local_days=env_int("CERT_LOCAL_DAYS", 90),
            # No default: production names its CA (and a staging one first) on purpose.
            acme_directory_url=env("CERT_ACME_DIRECTORY_URL", ""),
            acme_contact_email=env("CERT_ACME_CONTACT_EMAIL", ""),
            acme_account_key_file=env("CERT_ACME_ACCOUNT_KEY_FILE", ""),
            interval=env_float("CERT_CHECK_INTERVAL_SECONDS", 300.0),
            retry_after=env_float("CERT_RETRY_AFTER_SECONDS", 900.0),
        )
