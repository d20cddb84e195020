"""Control API for Connect: what the account holder and Stripe do to a connected account
(finish onboarding, owe more information, get disabled), and the hosted onboarding page that an
Account Link's URL opens."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from aiohttp import web

from devstack.stripe_emulator import accounts, onboarding
from devstack.stripe_emulator.api import WORLD
from devstack.stripe_emulator.control import json_body, stripe_error
from devstack.stripe_emulator.errors import StripeError

routes = web.RouteTableDef()


def answer(make: Callable[[], dict[str, Any]]) -> web.Response:
    try:
        return web.json_response(make())
    except StripeError as err:
        return stripe_error(err)


@routes.post("/_emulator/accounts")
async def create_ready(request: web.Request) -> web.Response:
    """{"id": optional "acct_…", plus any /v1/accounts parameters (type, capabilities, email,
    metadata, …)}: an account created and onboarded at once, charges and payouts enabled."""
    world, body = request.app[WORLD], await json_body(request)
    account_id = body.pop("id", None)
    if account_id is not None and not (
        isinstance(account_id, str) and account_id.startswith("acct_") and account_id[5:].isalnum()
    ):
        return web.json_response({"error": {"message": "id must look like acct_…"}}, status=400)
    return answer(lambda: accounts.create_ready(world, account_id, _as_form(body)))


def _as_form(value: Any) -> Any:
    """JSON values as the form-decoded strings the API endpoints read."""
    if isinstance(value, dict):
        return {k: _as_form(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_form(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@routes.post("/_emulator/accounts/{account_id}/complete_onboarding")
async def complete_onboarding(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    return answer(lambda: accounts.complete_onboarding(world, request.match_info["account_id"]))


@routes.post("/_emulator/accounts/{account_id}/requirements")
async def change_requirements(request: web.Request) -> web.Response:
    """{"currently_due": [...], "eventually_due": [...], "past_due": [...],
    "disabled_reason": "requirements.past_due" | "rejected.fraud" | … | null,
    "charges_enabled": bool, "payouts_enabled": bool, "current_deadline": unix}: all optional."""
    world, body = request.app[WORLD], await json_body(request)
    account_id = request.match_info["account_id"]
    return answer(lambda: accounts.change_requirements(world, account_id, body))


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Onboarding {account} (Stripe emulator)</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Connect onboarding</h1>
<p>Account <code>{account}</code>. The local Stripe emulator stands in for Stripe's hosted form.</p>
<form method="post">
<button name="action" value="complete">Submit details and finish onboarding</button>
<button name="action" value="leave">Leave without finishing</button>
</form>
</body></html>
"""


@routes.get("/_emulator/onboarding/{token}")
async def onboarding_page(request: web.Request) -> web.Response:
    """The page an Account Link opens: once, before it expires; else off to `refresh_url`."""
    world = request.app[WORLD]
    entry = onboarding.link(world, request.match_info["token"])
    if entry is None:
        raise web.HTTPNotFound(text="no such account link")
    if not onboarding.usable(entry, opening=True):
        raise web.HTTPFound(entry["refresh_url"])
    entry["state"] = "opened"
    page = _PAGE.format(account=html.escape(entry["account"]))
    return web.Response(text=page, content_type="text/html")


@routes.post("/_emulator/onboarding/{token}")
async def onboarding_submit(request: web.Request) -> web.Response:
    """The page's form: action=complete (details submitted, account enabled) or action=leave;
    either way the browser goes to `return_url`, as on Stripe."""
    world = request.app[WORLD]
    entry = onboarding.link(world, request.match_info["token"])
    if entry is None:
        raise web.HTTPNotFound(text="no such account link")
    form = await request.post()
    action = form.get("action", "complete")
    if action not in ("complete", "leave"):
        raise web.HTTPBadRequest(text='action must be "complete" or "leave"')
    if not onboarding.usable(entry, opening=False):
        raise web.HTTPSeeOther(entry["refresh_url"])
    entry["state"] = "used"
    if action == "complete":
        accounts.complete_onboarding(world, entry["account"])
    raise web.HTTPSeeOther(entry["return_url"])
