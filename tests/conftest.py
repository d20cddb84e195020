"""Fixtures shared by every level: the real platform (PostgreSQL, Redis, services, Envoy) on
free ports and a database of its own, started once per test session."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest

from devstack.infra import ensure_postgres, ensure_redis
from devstack.migrate import drop_database
from devstack.stack import STATE_DIR, Stack

logging.getLogger("httpx").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def pg_admin_dsn() -> str:
    return ensure_postgres(STATE_DIR)


@pytest.fixture(scope="session")
def redis_url() -> str:
    return ensure_redis(STATE_DIR / "redis")


@pytest.fixture(scope="session")
def stack(pg_admin_dsn: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory):
    database = f"shop_test_{uuid.uuid4().hex[:8]}"
    run_dir: Path = tmp_path_factory.mktemp("stack")
    platform = Stack(
        pg_admin_dsn=pg_admin_dsn,
        redis_url=redis_url,
        database=database,
        run_dir=run_dir,
        envoy_concurrency=1,
    )
    try:
        platform.start()
        yield platform
    finally:
        platform.stop()
        drop_database(pg_admin_dsn, database)
