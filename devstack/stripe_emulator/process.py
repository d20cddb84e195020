"""Runs the emulator as a child process on a free port, the way devstack/stack.py runs the
services: `emulator = start_emulator(); ...; emulator.stop()` (or use it as a context manager)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from devstack.infra import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class EmulatorProcess:
    port: int
    proc: subprocess.Popen
    log_path: Path | None = None

    @property
    def url(self) -> str:
        """What the SDK takes: `StripeClient(key, base_addresses={"api": emulator.url})`."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout: float = 5) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_emulator(
    port: int | None = None,
    *,
    webhook_urls: Sequence[str] = (),
    webhook_secret: str | None = None,
    connect_webhook_urls: Sequence[str] = (),
    connect_webhook_secret: str | None = None,
    search_lag: float | None = None,
    log_path: Path | None = None,
    extra_args: Sequence[str] = (),
    timeout: float = 15,
) -> EmulatorProcess:
    """Starts `python -m devstack.stripe_emulator` and returns once it answers. Without a fixed
    port a bind race (free_port cannot hold the port) is retried on a new one."""
    for attempt in range(3):
        chosen = port or free_port()
        args = [sys.executable, "-m", "devstack.stripe_emulator", "--port", str(chosen)]
        for url in webhook_urls:
            args += ["--webhook-url", url]
        if webhook_secret:
            args += ["--webhook-secret", webhook_secret]
        for url in connect_webhook_urls:
            args += ["--connect-webhook-url", url]
        if connect_webhook_secret:
            args += ["--connect-webhook-secret", connect_webhook_secret]
        if search_lag is not None:
            args += ["--search-lag", str(search_lag)]
        args += list(extra_args)
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL
        # cwd=ROOT: `python -m` puts it on sys.path, so no install of this repo is needed.
        proc = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        if log_path:
            out.close()  # the child holds its own copy
        emulator = EmulatorProcess(chosen, proc, log_path)
        if _wait_healthy(emulator, timeout):
            return emulator
        emulator.stop()
        if port is not None or attempt == 2:
            break
    raise RuntimeError(f"Stripe emulator did not start (log: {log_path or 'discarded'})")


def _wait_healthy(emulator: EmulatorProcess, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if emulator.proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{emulator.url}/_emulator/health", timeout=1) as reply:
                # Another process may hold the port we were given: only our child counts.
                if json.load(reply).get("pid") == emulator.proc.pid:
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False
