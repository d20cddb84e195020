"""The Stripe API paths (`/v1/...`): authentication, the Connect account, injected faults,
idempotency, then the endpoint. Form-encoded requests, JSON replies shaped like Stripe's."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from devstack.stripe_emulator import (
    accounts,
    balance,
    charges,
    disputes,
    errors,
    fees,
    forms,
    listing,
    onboarding,
    payment_actions,
    payment_methods,
    payments,
    payouts,
    refunds,
    versions,
    webhook_endpoints,
)
from devstack.stripe_emulator.errors import StripeError
from devstack.stripe_emulator.idempotency import Reply
from devstack.stripe_emulator.store import PLATFORM, new_id
from devstack.stripe_emulator.world import Call, World

log = logging.getLogger(__name__)
WORLD = web.AppKey("world", World)

_ID = r"(?P<object_id>[^/]+)"
ROUTES: list[tuple[str, re.Pattern[str], Callable[..., dict[str, Any]]]] = [
    (method, re.compile(path), handler)
    for method, path, handler in [
        ("POST", "/v1/payment_intents", payments.create),
        ("GET", "/v1/payment_intents", listing.list_intents),
        ("GET", "/v1/payment_intents/search", listing.search_intents),
        ("GET", f"/v1/payment_intents/{_ID}", payments.retrieve),
        ("POST", f"/v1/payment_intents/{_ID}", payments.update),
        ("POST", f"/v1/payment_intents/{_ID}/confirm", payment_actions.confirm),
        ("POST", f"/v1/payment_intents/{_ID}/capture", payment_actions.capture),
        ("POST", f"/v1/payment_intents/{_ID}/cancel", payment_actions.cancel),
        ("GET", "/v1/charges", listing.list_charges),
        ("GET", "/v1/charges/search", listing.search_charges),
        ("GET", f"/v1/charges/{_ID}", charges.retrieve_charge),
        ("POST", "/v1/refunds", refunds.create),
        ("GET", "/v1/refunds", refunds.list_refunds),
        ("GET", f"/v1/refunds/{_ID}", refunds.retrieve),
        ("POST", "/v1/payment_methods", payment_methods.create),
        ("GET", f"/v1/payment_methods/{_ID}", payment_methods.retrieve),
        ("POST", "/v1/accounts", accounts.create),
        ("GET", "/v1/accounts", accounts.list_accounts),
        ("GET", f"/v1/accounts/{_ID}", accounts.retrieve),
        ("POST", f"/v1/accounts/{_ID}", accounts.update),
        ("GET", "/v1/account", accounts.retrieve_current),
        ("POST", "/v1/account_links", onboarding.create_link),
        ("GET", "/v1/application_fees", fees.list_fees),
        ("GET", f"/v1/application_fees/{_ID}", fees.retrieve),
        ("GET", "/v1/balance", balance.retrieve),
        ("GET", "/v1/balance_transactions", balance.list_transactions),
        ("GET", f"/v1/balance_transactions/{_ID}", balance.retrieve_transaction),
        ("GET", "/v1/payouts", payouts.list_payouts),
        ("GET", f"/v1/payouts/{_ID}", payouts.retrieve),
        ("GET", "/v1/disputes", disputes.list_disputes),
        ("GET", f"/v1/disputes/{_ID}", disputes.retrieve),
        ("POST", "/v1/webhook_endpoints", webhook_endpoints.create),
        ("GET", "/v1/webhook_endpoints", webhook_endpoints.list_endpoints),
        ("GET", f"/v1/webhook_endpoints/{_ID}", webhook_endpoints.retrieve),
        ("POST", f"/v1/webhook_endpoints/{_ID}", webhook_endpoints.update),
        ("DELETE", f"/v1/webhook_endpoints/{_ID}", webhook_endpoints.delete),
        ("GET", "/v1/events", listing.list_events),
        ("GET", f"/v1/events/{_ID}", listing.retrieve_event),
    ]
]


def _route(method: str, path: str) -> tuple[Callable[..., dict[str, Any]], dict[str, str]]:
    for route_method, pattern, handler in ROUTES:
        match = pattern.fullmatch(path)
        if match and route_method == method:
            return handler, match.groupdict()
    raise StripeError(
        404,
        "invalid_request_error",
        f"Unrecognized request URL ({method}: {path}).",
    )


def _api_key(header: str) -> str:
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "basic":  # curl -u sk_test_...:
        credentials = base64.b64decode(credentials + "==").decode(errors="replace").split(":")[0]
    elif scheme.lower() != "bearer":
        credentials = ""
    if not credentials:
        raise StripeError(
            401,
            "invalid_request_error",
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY').",
        )
    if not credentials.startswith(("sk_test_", "rk_test_")) or len(credentials) < 9:
        raise StripeError(
            401,
            "invalid_request_error",
            f"Invalid API Key provided: {credentials[:8]}****{credentials[-4:]} "
            "(this emulator takes test-mode secret keys only).",
            code="api_key_invalid",
        )
    return credentials


def _account(world: World, header: str | None, api_key: str) -> str:
    """The account a request acts as: the platform, or one of its connected accounts."""
    if header is None or header == world.platform_id:
        return PLATFORM
    if not re.fullmatch(r"acct_[A-Za-z0-9]+", header) or accounts.lookup(world, header) is None:
        raise errors.no_account_access(api_key, header)
    return header


def _headers(request_id: str, key: str | None, version: str | None) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "Request-Id": request_id,
        "Stripe-Version": version or versions.API_VERSION,
    }
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


def _reply(
    status: int, body: dict[str, Any], request_id: str, key: str | None, version: str | None
) -> Reply:
    return Reply(status, json.dumps(body, indent=2).encode(), _headers(request_id, key, version))


def _error(
    err: StripeError, request_id: str, key: str | None = None, version: str | None = None
) -> Reply:
    body = err.body()
    body["error"]["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
    return _reply(err.status, body, request_id, key, version)


async def handle(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    request_id = new_id("req", 14)
    key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
    entry: dict[str, Any] = {
        "method": request.method,
        "path": request.path,
        "idempotency_key": key,
        "account": request.headers.get("Stripe-Account"),
        "stripe_version": request.headers.get("Stripe-Version"),
        "status": None,
        "replayed": False,
        "request_id": request_id,
        "at": time.time(),
    }
    world.journal.append(entry)
    del world.journal[: -world.journal_limit]
    reply = await _serve(world, request, request_id, key, entry)
    entry["status"] = reply.status
    return web.Response(status=reply.status, body=reply.body, headers=reply.headers)


async def _serve(
    world: World, request: web.Request, request_id: str, key: str | None, entry: dict[str, Any]
) -> Reply:
    method, path = request.method, request.path
    pairs = list(request.query.items())
    if method == "POST":
        pairs += [(k, v) for k, v in (await request.post()).items() if isinstance(v, str)]
    fields = dict(pairs)
    entry["fields"] = fields
    version = None
    try:
        api_key = _api_key(request.headers.get("Authorization", ""))
        version = versions.check(request.headers.get("Stripe-Version"))
        account = _account(world, request.headers.get("Stripe-Account"), api_key)
        handler, path_args = _route(method, path)
        params = forms.decode(pairs)
    except StripeError as err:
        return _error(err, request_id, key, version)
    call = Call(
        method,
        path,
        account,
        params,
        fields,
        request_id,
        key,
        api_version=version,
        base_url=f"{request.scheme}://{request.host}",
        api_key=api_key,
    )

    # Refused before the endpoint begins: nothing is saved under the idempotency key.
    if world.rules.take("rate_limit", method, path, fields):
        return _error(errors.rate_limited(), request_id, key, version)
    if world.rules.take("error_before_create", method, path, fields):
        return _error(errors.api_error(), request_id, key, version)

    claimed = False
    if key is not None:
        try:
            saved = world.idempotency.begin(
                account, key, forms.fingerprint(method, path, pairs), request_id
            )
        except StripeError as err:
            return _error(err, request_id, key, version)
        if saved is not None:
            entry["replayed"] = True
            return _replayed(*saved, request_id)
        claimed = True

    hold = 0.0
    try:
        if delay := world.rules.delay(method, path, fields):
            await asyncio.sleep(delay)
        reply, executed = _execute(world, handler, call, path_args)
        if executed:
            if world.rules.take("error_after_create", method, path, fields):
                # The object exists; the client only sees a 500, and so does every replay.
                reply = _error(errors.api_error(), request_id, key, version)
                reply.headers["Stripe-Should-Retry"] = "false"
            if timeout := world.rules.take("timeout", method, path, fields):
                hold = timeout.seconds
        if claimed:
            if executed:
                world.idempotency.finish(account, key, reply)
            else:
                world.idempotency.abandon(account, key)
            claimed = False
    finally:
        if claimed:  # cancelled during the latency sleep: the endpoint never ran
            world.idempotency.abandon(account, key)
    if hold:
        # The work is done and saved; only the response is late (a lost or slow reply), so the
        # client's retry with the same key gets the saved result.
        await asyncio.sleep(hold)
    return reply


def _execute(
    world: World, handler: Callable[..., dict[str, Any]], call: Call, path_args: dict[str, str]
) -> tuple[Reply, bool]:
    """Runs the endpoint: synchronous, so it is atomic with respect to other requests."""
    key, version = call.idempotency_key, call.api_version
    try:
        body = handler(world, call, *path_args.values())
        return _reply(200, body, call.request_id, key, version), True
    except StripeError as err:
        return _error(err, call.request_id, key, version), err.executed
    except Exception:
        log.exception("emulator bug in %s %s", call.method, call.path)
        return _error(errors.api_error(), call.request_id, key, version), False
    finally:
        world.settle()


def _replayed(saved: Reply, original_request: str, request_id: str) -> Reply:
    headers = dict(saved.headers)
    headers.update(
        {
            "Request-Id": request_id,
            "Original-Request": original_request,
            "Idempotent-Replayed": "true",
        }
    )
    return Reply(saved.status, saved.body, headers)
