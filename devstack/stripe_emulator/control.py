"""The control API under /_emulator/: what tests and `make run` use to steer the emulator.
Never reachable through the /v1 paths, so the code under test cannot trip it by accident."""

from __future__ import annotations

import json
import os
from typing import Any

from aiohttp import web

from devstack.stripe_emulator import payment_actions
from devstack.stripe_emulator.api import WORLD
from devstack.stripe_emulator.errors import StripeError
from devstack.stripe_emulator.faults import RuleError, parse_fault, parse_latency

routes = web.RouteTableDef()


def bad(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": {"message": message}}, status=status)


async def json_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except json.JSONDecodeError as exc:
        raise web.HTTPBadRequest(text=f"body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return body


@routes.get("/_emulator/health")
async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "pid": os.getpid()})


@routes.post("/_emulator/reset")
async def reset(request: web.Request) -> web.Response:
    """Faults and latency always; `{"objects": true}` also objects, idempotency keys, events and
    the request log; `{"webhook_endpoints": true}` also the endpoints."""
    world, body = request.app[WORLD], await json_body(request)
    world.rules.clear()
    if body.get("objects"):
        world.clear_objects()
        world.idempotency.clear()
        world.webhooks.clear_events()
        world.journal.clear()
    if body.get("webhook_endpoints"):
        world.webhooks.endpoints.clear()
    return web.json_response({"ok": True})


@routes.get("/_emulator/config")
async def get_config(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    return web.json_response(
        {
            "idempotency_ttl_seconds": world.idempotency.ttl,
            "webhook_attempts": world.webhooks.attempts,
            "webhook_retry_base_seconds": world.webhooks.retry_base,
            "search_lag_seconds": world.search.lag,
            "balance_pending_seconds": world.config.balance_pending_seconds,
            "account_link_ttl_seconds": world.config.account_link_ttl_seconds,
            "platform_account": world.platform_id,
        }
    )


@routes.post("/_emulator/config")
async def set_config(request: web.Request) -> web.Response:
    world, body = request.app[WORLD], await json_body(request)
    try:
        numbers = {k: float(v) for k, v in body.items() if k.endswith("_seconds")}
        attempts = int(body["webhook_attempts"]) if "webhook_attempts" in body else None
    except (TypeError, ValueError):
        return bad("settings ending in _seconds and webhook_attempts must be numbers")
    if any(v < 0 for v in numbers.values()):
        return bad("seconds cannot be negative")
    if "idempotency_ttl_seconds" in numbers:
        world.idempotency.ttl = numbers["idempotency_ttl_seconds"]
    if attempts is not None:
        world.webhooks.attempts = max(1, attempts)
    if "webhook_retry_base_seconds" in numbers:
        world.webhooks.retry_base = numbers["webhook_retry_base_seconds"]
    if "search_lag_seconds" in numbers:
        world.search.lag = numbers["search_lag_seconds"]
    if "balance_pending_seconds" in numbers:
        world.config.balance_pending_seconds = numbers["balance_pending_seconds"]
    if "account_link_ttl_seconds" in numbers:
        world.config.account_link_ttl_seconds = numbers["account_link_ttl_seconds"]
    return await get_config(request)


@routes.post("/_emulator/faults")
async def add_fault(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    try:
        fault = parse_fault(await json_body(request))
    except RuleError as exc:
        return bad(str(exc))
    world.rules.faults.append(fault)
    return web.json_response(world.rules.describe()["faults"][-1])


@routes.post("/_emulator/latency")
async def add_latency(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    try:
        rule = parse_latency(await json_body(request))
    except RuleError as exc:
        return bad(str(exc))
    world.rules.latencies.append(rule)
    return web.json_response(world.rules.describe()["latency"][-1])


@routes.get("/_emulator/faults")
@routes.get("/_emulator/latency")
async def list_rules(request: web.Request) -> web.Response:
    return web.json_response(request.app[WORLD].rules.describe())


@routes.delete("/_emulator/faults")
async def clear_faults(request: web.Request) -> web.Response:
    request.app[WORLD].rules.faults.clear()
    return web.json_response({"ok": True})


@routes.delete("/_emulator/latency")
async def clear_latency(request: web.Request) -> web.Response:
    request.app[WORLD].rules.latencies.clear()
    return web.json_response({"ok": True})


@routes.get("/_emulator/requests")
async def requests_log(request: web.Request) -> web.Response:
    """Filters: method, path, account, idempotency_key, status (exact values)."""
    rows = request.app[WORLD].journal
    for name, value in request.query.items():
        # "" asks for an unset value (account="" → the platform's requests).
        rows = [r for r in rows if ("" if r.get(name) is None else str(r.get(name))) == value]
    return web.json_response({"data": rows})


@routes.delete("/_emulator/requests")
async def clear_requests(request: web.Request) -> web.Response:
    request.app[WORLD].journal.clear()
    return web.json_response({"ok": True})


@routes.post("/_emulator/payment_intents/{intent_id}/authenticate")
async def authenticate(request: web.Request) -> web.Response:
    """{"outcome": "succeed" | "fail"}: the shopper completes or fails 3-D Secure."""
    world, body = request.app[WORLD], await json_body(request)
    outcome = body.get("outcome", "succeed")
    if outcome not in ("succeed", "fail"):
        return bad('outcome must be "succeed" or "fail"')
    try:
        intent = payment_actions.authenticate(
            world, request.match_info["intent_id"], outcome == "succeed"
        )
    except StripeError as err:
        return stripe_error(err)
    return web.json_response(intent)


def stripe_error(err: StripeError) -> web.Response:
    return web.json_response(err.body(), status=err.status)
