"""Settings only the Catalog service reads, from environment variables with local defaults.
The shared ones are in services.common.config."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.config import env_int


@dataclass(frozen=True)
class CatalogSettings:
    # How long the edge cache may serve a storefront read (Cache-Control max-age, seconds):
    # the worst-case staleness of a merchant's change at the edge. 0: nothing is cached (the
    # test stack, whose tests read what they just wrote; tests/e2e/test_edge_cache.py turns it
    # back on).
    storefront_cache_seconds: int = 1

    @classmethod
    def from_env(cls) -> CatalogSettings:
        seconds = env_int("STOREFRONT_CACHE_SECONDS", cls.storefront_cache_seconds)
        if not 0 <= seconds <= 60:
            raise SystemExit(
                f"configuration error: STOREFRONT_CACHE_SECONDS={seconds} must be 0 to 60"
                " (a merchant's change must reach shoppers quickly)"
            )
        return cls(storefront_cache_seconds=seconds)
