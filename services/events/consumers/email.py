"""Emails over SMTP (plain text + HTML): the shopper's order confirmation (order.created),
refund notice (order.refunded: made by the merchant here or in Stripe's Dashboard),
cancellation notice (order.cancelled) and shipping confirmation with the tracking link
(fulfillment.created, and fulfillment.updated for changed tracking, when the merchant asked to
notify the shopper) from orders.email; the store owner's notice of a failed
payout (payout.failed) from payouts.email; an owner email change's code to the new address and
the notice to the old one from store.email; a shopper's account activation link, "you have an
account already" notice and password reset link from customers.email. Other events on those
queues are not mail.

Effect order: send, then commit the dedupe row and the sent_emails record, then ack. A crash
between the SMTP server accepting the message and the commit resends it with the same
Message-ID (the event key), which mail systems treat as the same message."""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import asyncpg

from services.events.config import EventsConfig
from services.events.consumers import email_templates as templates
from services.events.consumers.base import Consumer

# Event type → (who gets it: "shopper", "owner", or "addressed" — the event's own `to`, the
# template).
MAILS: dict[str, tuple[str, Callable[[str, dict[str, Any]], templates.Mail]]] = {
    "order.created": ("shopper", templates.order_confirmation),
    "order.refunded": ("shopper", templates.order_refunded),
    "order.cancelled": ("shopper", templates.order_cancelled),
    # Only when the merchant asked to notify the shopper (notify_customer).
    "fulfillment.created": ("shopper", templates.shipping_confirmation),
    "fulfillment.updated": ("shopper", templates.shipping_update),
    "payout.failed": ("owner", templates.payout_failed),
    "store.owner_email_confirmation": ("addressed", templates.owner_email_confirmation),
    "store.owner_email_changed": ("addressed", templates.owner_email_changed),
    # Storefront accounts: the link's token is in the body only (never in a log or subject).
    "customer.activation": ("shopper", templates.account_activation),
    "customer.account_exists": ("shopper", templates.account_exists),
    "customer.password_reset": ("shopper", templates.password_reset),
}


def message_id_for(event_key: str, domain: str) -> str:
    """RFC 5322 msg-id from the event key: the same event always gets the same Message-ID (so a
    resend is recognisably the same mail); characters a msg-id cannot hold become dots."""
    return f"<{re.sub(r'[^A-Za-z0-9.!#$%&*+/=?^_`{{|}}~-]', '.', event_key)}@{domain}>"


class EmailConsumer(Consumer):
    name = "email"

    def __init__(self, config: EventsConfig, queue: str = "orders.email") -> None:
        self._config = config
        self.queue = queue

    async def handle(self, conn: asyncpg.Connection, store_id: int, event: dict[str, Any]) -> None:
        mail = MAILS.get(event["event"])
        if mail is None:
            return
        audience, template = mail
        if event["data"].get("notify_customer") is False:
            return  # a fulfillment the merchant chose not to tell the shopper about
        store = await conn.fetchrow("SELECT name, owner_email FROM stores WHERE id = $1", store_id)
        store_name = (store["name"] if store else None) or "your store"
        data = event["data"]
        if audience == "addressed":
            recipient = data.get("to")
        else:
            recipient = data["email"] if audience == "shopper" else (store and store["owner_email"])
        if not recipient:
            return
        subject, text, body_html = template(store_name, data)
        message = EmailMessage()
        message["From"] = self._config.mail_from
        message["To"] = recipient
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
            recipient,
            subject,
        )
