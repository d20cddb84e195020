"""Order confirmation email (plain text + HTML) over SMTP.

Effect order: send, then commit the dedupe row and the sent_emails record, then ack. A crash
between the SMTP server accepting the message and the commit resends it with the same
Message-ID (the event key), which mail systems treat as the same message."""

from __future__ import annotations

import html
import re
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import asyncpg

from services.common.money import format_money
from services.events.config import EventsConfig
from services.events.consumers.base import Consumer


def message_id_for(event_key: str, domain: str) -> str:
    """RFC 5322 msg-id from the event key: the same event always gets the same Message-ID (so a
    resend is recognisably the same mail); characters a msg-id cannot hold become dots."""
    return f"<{re.sub(r'[^A-Za-z0-9.!#$%&*+/=?^_`{{|}}~-]', '.', event_key)}@{domain}>"


def render(store_name: str, order: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) for an order.created payload."""
    currency = order["currency"]
    number = order["order_number"]
    lines = order.get("lines", [])
    subject = f"{store_name}: order #{number} confirmed"
    text_lines = [
        f"Thank you for your order #{number} at {store_name}.",
        "",
        *(
            f"  {line['quantity']} x {line['title']}  "
            f"{format_money(int(line['total_minor']), currency)}"
            for line in lines
        ),
        "",
        f"Total: {format_money(int(order['total_minor']), currency)}",
    ]
    rows = "".join(
        f"<tr><td>{int(line['quantity'])}</td><td>{html.escape(line['title'])}</td>"
        f"<td>{html.escape(format_money(int(line['total_minor']), currency))}</td></tr>"
        for line in lines
    )
    body_html = (
        f"<p>Thank you for your order <strong>#{html.escape(str(number))}</strong> at "
        f"{html.escape(store_name)}.</p><table>{rows}</table>"
        f"<p>Total: <strong>{html.escape(format_money(int(order['total_minor']), currency))}"
        "</strong></p>"
    )
    return subject, "\n".join(text_lines) + "\n", body_html


class EmailConsumer(Consumer):
    name = "email"
    queue = "orders.email"

    def __init__(self, config: EventsConfig) -> None:
        self._config = config

    async def handle(self, conn: asyncpg.Connection, store_id: int, event: dict[str, Any]) -> None:
        if event["event"] != "order.created":
            return
        order = event["data"]
        store_name = await conn.fetchval("SELECT name FROM stores") or "your store"
        subject, text, body_html = render(store_name, order)
        message = EmailMessage()
        message["From"] = self._config.mail_from
        message["To"] = order["email"]
        message["Subject"] = subject
        message["Message-ID"] = message_id_for(
            event["idempotencyKey"], self._config.platform_domain
        )
        message.set_content(text)
        message.add_alternative(body_html, subtype="html")
        await aiosmtplib.send(
            message, hostname=self._config.smtp_host, port=self._config.smtp_port, timeout=10
        )
        await conn.execute(
            """INSERT INTO sent_emails (store_id, message_id, recipient, subject)
               VALUES ($1, $2, $3, $4)""",
            store_id,
            event["idempotencyKey"],
            order["email"],
            subject,
        )
