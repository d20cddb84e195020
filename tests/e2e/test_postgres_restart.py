"""A PostgreSQL restart under a running platform: the control plane's route listener notices its
connection dropped, reconnects at once and catches up, so a store signed up right after is
routable within 2 s (issue 19: it took 11 s, until the next periodic resync).

The shared PostgreSQL cannot be restarted under other sessions, so this module runs a private
server (initdb + pg_ctl, as the postgres system user) and a stack of its own on it."""

from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from devstack.infra import free_port
from devstack.stack import Stack
from tests.e2e.api_client import PLATFORM_HOST, signup, unique_subdomain, wait_routable

SYSTEM_USER = "postgres"


class PrivatePostgres:
    def __init__(self, root: Path) -> None:
        self.data = root / "pgdata"
        self.log = root / "postgres.log"
        self.port = free_port()
        root.mkdir(parents=True, exist_ok=True)
        shutil.chown(root, SYSTEM_USER)

    def _run(self, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", SYSTEM_USER, "--", *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    def _ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data} -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-o", options, *extra, action
        )

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        # Fast shutdown: every client connection is terminated, as in a real restart.
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        self._ctl("stop", "-m", "immediate")

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture(scope="module")
def postgres():
    # Not under pytest's temporary directory: its parents are private to this user, and the
    # server runs as the postgres system user.
    root = Path(tempfile.mkdtemp(prefix="shop-private-pg-"))
    server = PrivatePostgres(root)
    try:
        server.init()
        server.start()
        yield server
        server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def restart_stack(postgres, redis_url, tmp_path_factory):
    stack = Stack(
        pg_admin_dsn=postgres.admin_dsn,
        redis_url=redis_url,
        database="shop_restart",
        run_dir=tmp_path_factory.mktemp("restart-stack"),
        envoy_concurrency=1,
        first_store_id=random.randrange(10**9, 10**12),
        extra_env={"PGCONNECT_TIMEOUT": "2"},
    )
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


def _signup_until_accepted(http: httpx.Client, subdomain: str, timeout: float = 15.0) -> str:
    """Right after the restart the services' pooled connections are dead: a call may fail
    (5xx, retryable) until the pool has replaced them, as a client would see it."""
    deadline = time.monotonic() + timeout
    while True:
        r = http.post(
            "/v1/stores",
            headers={"host": PLATFORM_HOST},
            json={
                "name": "After restart",
                "subdomain": subdomain,
                "owner_email": f"owner@{subdomain}.example.com",
                "currency": "USD",
            },
        )
        if r.status_code == 200:
            return r.json()["store"]["primary_domain"]
        assert r.status_code >= 500, r.text
        assert time.monotonic() < deadline, f"signup still failing: {r.status_code} {r.text}"
        time.sleep(0.1)


def test_store_signed_up_after_a_postgres_restart_is_routable_within_2s(restart_stack, postgres):
    with httpx.Client(base_url=restart_stack.edge_url, timeout=10) as http:
        signup(http, "before")  # the platform works before the restart
        postgres.restart()
        subdomain = unique_subdomain("after")
        host = f"{subdomain}.myshop.localhost"
        # Asked before it exists: this Envoy is told "unknown" and never asks again, so only
        # a change pushed by the control plane (its listener, reconnected) can make it live.
        deadline = time.monotonic() + 15
        while http.get("/v1/products", headers={"host": host}).status_code != 404:
            assert time.monotonic() < deadline, "the edge does not answer unknown hosts"
            time.sleep(0.05)
        assert _signup_until_accepted(http, subdomain) == host
        assert wait_routable(http, host, timeout=2.0) < 2.0
