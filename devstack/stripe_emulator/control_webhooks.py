"""Control API for webhooks: endpoints, the events sent, resending, and signing any payload
(e.g. with an old timestamp, for tests that a receiver refuses stale or forged events)."""

from __future__ import annotations

import json

from aiohttp import web

from devstack.stripe_emulator.api import WORLD
from devstack.stripe_emulator.control import bad, json_body
from devstack.stripe_emulator.store import PLATFORM
from devstack.stripe_emulator.webhooks import sign

routes = web.RouteTableDef()


@routes.post("/_emulator/webhook_endpoints")
async def add_endpoint(request: web.Request) -> web.Response:
    """{"url": ..., "secret": optional (a whsec_ is made up), "events": optional ["type", ...],
    "connect": optional bool (Stripe's `connect`: connected accounts' events instead of the
    platform's), "host": optional Host header to send}"""
    body = await json_body(request)
    url, secret, events = body.get("url"), body.get("secret"), body.get("events")
    connect, host = body.get("connect", False), body.get("host")
    if not isinstance(connect, bool):
        return bad("connect must be true or false")
    if host is not None and not isinstance(host, str):
        return bad("host must be a string")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return bad("url must be an http(s) URL")
    if secret is not None and not isinstance(secret, str):
        return bad("secret must be a string")
    if events is not None and not (
        isinstance(events, list) and all(isinstance(e, str) for e in events)
    ):
        return bad("events must be a list of event types")
    endpoint = request.app[WORLD].webhooks.add_endpoint(url, secret, events, host, connect=connect)
    return web.json_response(endpoint.public())


@routes.get("/_emulator/webhook_endpoints")
async def list_endpoints(request: web.Request) -> web.Response:
    endpoints = request.app[WORLD].webhooks.endpoints.values()
    return web.json_response({"data": [e.public() for e in endpoints]})


@routes.delete("/_emulator/webhook_endpoints")
async def clear_endpoints(request: web.Request) -> web.Response:
    request.app[WORLD].webhooks.endpoints.clear()
    return web.json_response({"ok": True})


@routes.delete("/_emulator/webhook_endpoints/{endpoint_id}")
async def remove_endpoint(request: web.Request) -> web.Response:
    removed = request.app[WORLD].webhooks.endpoints.pop(request.match_info["endpoint_id"], None)
    return web.json_response({"ok": True}) if removed else bad("no such endpoint", 404)


@routes.get("/_emulator/events")
async def list_events(request: web.Request) -> web.Response:
    """Newest first, each with its delivery attempts. Filters: type, account ("" = platform)."""
    q = request.query
    events = request.app[WORLD].webhooks.listing(q.get("type"), q.get("account"))
    return web.json_response({"data": events})


@routes.post("/_emulator/events/{event_id}/resend")
async def resend(request: web.Request) -> web.Response:
    """Delivers the same event bytes again: {"endpoint": optional id (default every endpoint
    that takes its type), "timestamp": optional unix time to sign with (old → stale)}."""
    hooks, body = request.app[WORLD].webhooks, await json_body(request)
    event = hooks.events.get(request.match_info["event_id"])
    if event is None:
        return bad("no such event", 404)
    if body.get("endpoint"):
        endpoint = hooks.endpoints.get(body["endpoint"])
        if endpoint is None:
            return bad("no such endpoint", 404)
        targets = [endpoint]
    else:
        targets = hooks.targets(event.body["type"], event.body.get("account", PLATFORM))
    for endpoint in targets:
        hooks.schedule(event, endpoint, body.get("timestamp"))
    return web.json_response({"id": event.body["id"], "endpoints": [e.id for e in targets]})


@routes.post("/_emulator/webhooks/sign")
async def sign_payload(request: web.Request) -> web.Response:
    """{"payload": string or JSON value, "secret": optional (default: the first endpoint's),
    "timestamp": optional unix time} → {"payload", "timestamp", "signature_header"}."""
    hooks, body = request.app[WORLD].webhooks, await json_body(request)
    payload = body.get("payload")
    if payload is None:
        return bad("payload is required")
    if not isinstance(payload, str):
        payload = json.dumps(payload, indent=2)
    secret = body.get("secret") or next((e.secret for e in hooks.endpoints.values()), None)
    if not secret:
        return bad("no secret given and no webhook endpoint registered")
    header = sign(payload, secret, body.get("timestamp"))
    timestamp = int(header.split(",")[0][2:])
    return web.json_response(
        {"payload": payload, "timestamp": timestamp, "signature_header": header}
    )
