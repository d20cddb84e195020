"""RabbitMQ for local runs and tests: find it (or start the machine's server) and give a test
session a virtual host of its own, so its queues never mix with another run's."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import time
from urllib.parse import quote, urlsplit, urlunsplit

import aio_pika

log = logging.getLogger(__name__)
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def amqp_reachable(url: str) -> bool:
    async def probe() -> None:
        connection = await aio_pika.connect(url, timeout=3)
        await connection.close()

    try:
        asyncio.run(probe())
        return True
    except Exception:
        return False


def ensure_rabbitmq() -> str:
    url = os.environ.get("AMQP_URL", DEFAULT_AMQP_URL)
    if amqp_reachable(url):
        return url
    server = shutil.which("rabbitmq-server")
    if server is None:
        raise SystemExit(
            f"no RabbitMQ at {url} and no rabbitmq-server to start; install Debian's "
            "rabbitmq-server or set AMQP_URL"
        )
    log.warning("no RabbitMQ at %s; starting %s", url, server)
    subprocess.run([server, "-detached"], check=False)
    deadline = time.monotonic() + 90
    while not amqp_reachable(url):
        if time.monotonic() > deadline:
            raise SystemExit("RabbitMQ did not come up within 90 s")
        time.sleep(1)
    return url


def with_vhost(url: str, vhost: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), "", ""))


def create_vhost(vhost: str) -> bool:
    """A private vhost via rabbitmqctl (local broker only); False when that is not possible."""
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        return False
    try:
        subprocess.run([ctl, "add_vhost", vhost], check=True, capture_output=True, timeout=60)
        subprocess.run(
            [ctl, "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
            check=True,
            capture_output=True,
            timeout=60,
        )
    except (subprocess.SubprocessError, OSError):
        log.warning("could not create RabbitMQ vhost %s; using the default", vhost)
        return False
    return True


def delete_vhost(vhost: str) -> None:
    ctl = shutil.which("rabbitmqctl")
    if ctl:
        subprocess.run([ctl, "delete_vhost", vhost], check=False, capture_output=True, timeout=60)
