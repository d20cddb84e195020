"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import email
import email.policy
import threading
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 OK"

    def snapshot(self) -> list[EmailMessage]:
        with self._lock:
            return list(self.messages)

    def with_message_id(self, message_id: str) -> list[EmailMessage]:
        with self._lock:
            # A long Message-ID is folded onto a continuation line: compare without the fold.
            return [m for m in self.messages if str(m["Message-ID"]).strip() == message_id]


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.inbox = _Inbox()
        self.port = port
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=port)

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
