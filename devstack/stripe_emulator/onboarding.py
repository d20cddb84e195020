"""Account Links: single-use, short-lived URLs to Stripe's hosted onboarding, here a page of the
emulator (`/_emulator/onboarding/<token>`, control_connect.py) where a test or a person completes
onboarding or leaves without finishing.

As on Stripe: the link works once and for `account_link_ttl_seconds` (Stripe: minutes); a used or
expired link sends the browser to `refresh_url`, where the platform is expected to make a new one;
reaching `return_url` does not mean onboarding is complete (leaving the form early lands there
too), so a platform must read the account (or wait for `account.updated`)."""

from __future__ import annotations

import time
from typing import Any

import stripe

from devstack.stripe_emulator import accounts
from devstack.stripe_emulator import params as p
from devstack.stripe_emulator.errors import StripeError, invalid, platform_only
from devstack.stripe_emulator.store import PLATFORM, random_string
from devstack.stripe_emulator.world import Call, World

LINK_PARAMS = {
    "account",
    "collect",
    "collection_options",
    "expand",
    "refresh_url",
    "return_url",
    "type",
}
LINK_TYPES = ("account_onboarding", "account_update")


def create_link(world: World, call: Call) -> dict[str, Any]:
    if call.account != PLATFORM:
        raise platform_only("account links")
    params = call.params
    p.known(params, LINK_PARAMS & p.sdk_params(stripe.params.AccountLinkCreateParams))
    account_id = p.required_text(params, "account")
    link_type = p.required_text(params, "type")
    p.choice(params, "type", LINK_TYPES, "account_onboarding")
    refresh_url = p.url(params, "refresh_url", required=True)
    return_url = p.url(params, "return_url", required=True)
    account = accounts.lookup(world, account_id)
    if account is None:
        raise StripeError(
            404,
            "invalid_request_error",
            f"No such account: '{account_id}'",
            code="resource_missing",
            param="account",
        )
    if link_type == "account_update" and account["controller"]["requirement_collection"] != (
        "application"
    ):
        raise invalid(
            "You cannot create `account_update` type Account Links for accounts where "
            "`controller.requirement_collection` is `stripe` (Standard and Express accounts).",
            param="type",
        )
    now = time.time()
    token = random_string(32)
    world.account_links[token] = {
        "account": account_id,
        "refresh_url": refresh_url,
        "return_url": return_url,
        "expires_at": now + world.config.account_link_ttl_seconds,
        "state": "new",  # → "opened" (the page was shown) → "used"
    }
    return {
        "object": "account_link",
        "created": int(now),
        "expires_at": int(now + world.config.account_link_ttl_seconds),
        "url": f"{call.base_url}/_emulator/onboarding/{token}",
    }


def link(world: World, token: str) -> dict[str, Any] | None:
    return world.account_links.get(token)


def usable(entry: dict[str, Any], *, opening: bool) -> bool:
    """Opening the page spends the link; submitting its form needs the page to have been shown."""
    if time.time() > entry["expires_at"]:
        return False
    return entry["state"] == ("new" if opening else "opened")
