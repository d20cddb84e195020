"""A local SMTP server for `make run`: every email the platform sends lands as an .eml file
in .run/mail/, so order confirmations can be read without a real mail provider."""

from __future__ import annotations

import time
from pathlib import Path

from aiosmtpd.controller import Controller


class _ToFiles:
    def __init__(self, folder: Path) -> None:
        self._folder = folder

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{time.monotonic_ns()}.eml"
        (self._folder / name).write_bytes(envelope.content)
        return "250 OK"


def start_mail_sink(folder: Path, port: int) -> Controller:
    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(_ToFiles(folder), hostname="127.0.0.1", port=port)
    controller.start()
    return controller
