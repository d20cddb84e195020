"""The emails the platform sends, as (subject, plain text, HTML) from an event's payload: the
shopper's order confirmation, refund and cancellation notices, the store owner's notice of a
failed payout, and an owner email change's code and notice. Plain Python; every value put into
HTML is escaped."""

from __future__ import annotations

import html
from typing import Any

from services.common.money import format_money

Mail = tuple[str, str, str]


def _html(*paragraphs: str) -> str:
    return "".join(f"<p>{p}</p>" for p in paragraphs)


def _itemised(order: dict[str, Any], currency: str) -> list[str]:
    """Subtotal, shipping, tax and discount lines of the itemised order (events written before
    the order was itemised carry none of them: nothing is shown)."""
    if "subtotal_minor" not in order:
        return []
    said = [f"Subtotal: {format_money(int(order['subtotal_minor']), currency)}"]
    shipping = int(order.get("shipping_minor") or 0)
    if shipping or order.get("shipping_rate_name"):
        name = order.get("shipping_rate_name") or "Shipping"
        said.append(f"Shipping ({name}): {format_money(shipping, currency)}")
    tax = int(order.get("tax_minor") or 0)
    if tax:
        label = "Tax (included in the prices)" if order.get("prices_include_tax") else "Tax"
        said.append(f"{label}: {format_money(tax, currency)}")
    discount = int(order.get("discount_minor") or 0)
    if discount:
        said.append(f"Discount: -{format_money(discount, currency)}")
    return said


def shipping_confirmation(store_name: str, data: dict[str, Any]) -> Mail:
    """fulfillment.created / fulfillment.updated with notify_customer: what shipped and how
    to follow it."""
    number = data["order_number"]
    updated = data.get("_kind") == "updated"
    subject = (
        f"{store_name}: tracking updated for order #{number}"
        if updated
        else f"{store_name}: order #{number} has shipped"
    )
    titles = data.get("titles") or {}
    items = [
        f"  {int(line['quantity'])} x {titles.get(line['variant_id'], line['variant_id'])}"
        for line in data.get("lines", [])
    ]
    said = [
        f"Items of your order #{number} at {store_name} are on their way:"
        if not updated
        else f"The tracking of your order #{number} at {store_name} has changed:",
        "\n".join(items),
    ]
    carrier = " ".join(p for p in (data.get("tracking_company"), data.get("tracking_number")) if p)
    if carrier:
        said.append(f"Tracking: {carrier}")
    if data.get("tracking_url"):
        said.append(f"Follow your parcel: {data['tracking_url']}")
    url = data.get("tracking_url")
    shown = [html.escape(s).replace("\n", "<br>") for s in (said[:-1] if url else said)]
    body_html = _html(*shown)
    if url:
        link = html.escape(url, quote=True)
        body_html += f'<p>Follow your parcel: <a href="{link}">{link}</a></p>'
    return subject, "\n\n".join(said) + "\n", body_html


def shipping_update(store_name: str, data: dict[str, Any]) -> Mail:
    return shipping_confirmation(store_name, {**data, "_kind": "updated"})


def order_confirmation(store_name: str, order: dict[str, Any]) -> Mail:
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
        *_itemised(order, currency),
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
        + "".join(f"<p>{html.escape(p)}</p>" for p in _itemised(order, currency))
        + f"<p>Total: <strong>{html.escape(format_money(int(order['total_minor']), currency))}"
        "</strong></p>"
    )
    return subject, "\n".join(text_lines) + "\n", body_html


def order_refunded(store_name: str, order: dict[str, Any]) -> Mail:
    """order.refunded: one refund, made by the merchant here or in Stripe's Dashboard."""
    number = order["order_number"]
    amount = format_money(int(order["refunded_minor"]), order["currency"])
    subject = f"{store_name}: refund of {amount} for order #{number}"
    said = [
        f"{store_name} has refunded {amount} for your order #{number}.",
        "It goes back to the card you paid with; depending on your bank it can take 5 to 10"
        " business days to appear.",
    ]
    if order.get("refund_status") == "pending":
        said.append("The refund is being processed.")
    return subject, "\n\n".join(said) + "\n", _html(*(html.escape(s) for s in said))


def order_cancelled(store_name: str, order: dict[str, Any]) -> Mail:
    number = order["order_number"]
    refunded = int(order.get("refunded_minor") or 0)
    subject = f"{store_name}: order #{number} cancelled"
    said = [f"Your order #{number} at {store_name} has been cancelled."]
    if refunded:
        amount = format_money(refunded, order["currency"])
        said.append(
            f"{amount} is refunded to the card you paid with; depending on your bank it can"
            " take 5 to 10 business days to appear."
        )
    return subject, "\n\n".join(said) + "\n", _html(*(html.escape(s) for s in said))


def payout_failed(store_name: str, payout: dict[str, Any]) -> Mail:
    amount = format_money(int(payout["amount_minor"]), payout["currency"])
    subject = f"{store_name}: a payout of {amount} to your bank account failed"
    said = [
        f"Stripe could not pay out {amount} to the bank account of {store_name}"
        f" (payout {payout['payout_id']}).",
        f"Reason: {payout.get('failure_message') or payout.get('failure_code') or 'unknown'}",
        "The money is back in your Stripe balance. Check the bank account details in your"
        " payments settings; the amount is paid out with a later payout.",
    ]
    return subject, "\n\n".join(said) + "\n", _html(*(html.escape(s) for s in said))


def owner_email_confirmation(store_name: str, change: dict[str, Any]) -> Mail:
    """store.owner_email_confirmation: the code, to the new address only."""
    subject = f"{store_name}: confirm your new owner email"
    text = (
        f"Someone asked to make {change['to']} the owner email of {store_name}"
        f" ({change.get('shop_domain', '')}).\n\n"
        "To confirm, enter this code in the store's admin (ConfirmOwnerEmail):\n\n"
        f"    {change['code']}\n\n"
        f"It expires at {change['expires_at']}. If this was not you, ignore this email:"
        " nothing changes without the code.\n"
    )
    body_html = _html(
        f"Someone asked to make {html.escape(change['to'])} the owner email of"
        f" {html.escape(store_name)}.",
        "To confirm, enter this code in the store's admin (ConfirmOwnerEmail):"
        f" <code>{html.escape(change['code'])}</code>",
        f"It expires at {html.escape(change['expires_at'])}. If this was not you, ignore this"
        " email: nothing changes without the code.",
    )
    return subject, text, body_html


def owner_email_changed(store_name: str, change: dict[str, Any]) -> Mail:
    """store.owner_email_changed: to the old address, once the new one confirmed."""
    subject = f"{store_name}: the owner email has changed"
    said = (
        f"The owner email of {store_name} is now {change['new_email']}.",
        "If you did not ask for this, contact the platform's support at once.",
    )
    return subject, "\n".join(said) + "\n", _html(*(html.escape(p) for p in said))


def _duration(minutes: int) -> str:
    if minutes % 60 == 0 and minutes >= 60:
        hours = minutes // 60
        return f"{hours} hour" + ("s" if hours > 1 else "")
    return f"{minutes} minute" + ("s" if minutes != 1 else "")


def account_activation(store_name: str, data: dict[str, Any]) -> Mail:
    """customer.activation: the link that sets the password chosen at registration."""
    subject = f"{store_name}: confirm your account"
    within = _duration(int(data.get("expires_in_minutes", 1440)))
    said = [
        f"Someone (we hope you) created an account at {store_name} with this email address.",
        f"To confirm it, open this link within {within}:",
        data["url"],
        f"Or enter this code: {data['token']}",
        "If you did not ask for an account, ignore this email: nothing happens without it.",
    ]
    return subject, "\n\n".join(said) + "\n", _html(*(html.escape(s) for s in said))


def account_exists(store_name: str, data: dict[str, Any]) -> Mail:
    """customer.account_exists: someone registered with an address that has an account."""
    within = _duration(int(data.get("expires_in_minutes", 60)))
    subject = f"{store_name}: you already have an account"
    said = [
        f"Someone tried to create an account at {store_name} with this email address, which"
        " has an account already. Sign in with your password.",
        f"Forgotten it? Choose a new one within {within} with this link:",
        data["url"],
        "If it was not you, ignore this email: your account is unchanged.",
    ]
    return subject, "\n\n".join(said) + "\n", _html(*(html.escape(s) for s in said))


def password_reset(store_name: str, data: dict[str, Any]) -> Mail:
    """customer.password_reset: a single-use link to choose a new password."""
    within = _duration(int(data.get("expires_in_minutes", 60)))
    subject = f"{store_name}: reset your password"
    said = [
        f"To choose a new password for your account at {store_name}, open this link within"
        f" {within} (it works once):",
        data["url"],
        f"Or enter this code: {data['token']}",
        "If you did not ask for this, ignore this email: your password is unchanged.",
    ]
    return subject, "\n\n".join(said) + "\n", _html(*(html.escape(s) for s in said))
