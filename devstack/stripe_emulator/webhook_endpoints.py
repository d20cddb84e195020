"""`/v1/webhook_endpoints`: the platform registers where Stripe sends events, as with the
control API's `/_emulator/webhook_endpoints` (both edit the same list). `connect: true` makes an
endpoint for connected accounts' events. The signing secret is shown only by the create call."""

from __future__ import annotations

import re
from typing import Any

from devstack.stripe_emulator import listing
from devstack.stripe_emulator import params as p
from devstack.stripe_emulator.errors import invalid, missing, not_modelled
from devstack.stripe_emulator.store import PLATFORM
from devstack.stripe_emulator.versions import check as check_version
from devstack.stripe_emulator.webhooks import Endpoint
from devstack.stripe_emulator.world import Call, World

CREATE_PARAMS = {"url", "enabled_events", "connect", "api_version", "description", "metadata"}
UPDATE_PARAMS = {"url", "enabled_events", "description", "metadata", "disabled", "expand"}
_EVENT_TYPE = re.compile(r"\*|[a-z_]+(\.[a-z_]+)+")


def _platform(call: Call) -> None:
    if call.account != PLATFORM:
        raise not_modelled("webhook endpoints of connected accounts (use connect=true)", "url")


def _events(params: dict[str, Any]) -> list[str]:
    events = params.get("enabled_events")
    if not isinstance(events, list) or not events:
        raise invalid(
            "Missing required param: enabled_events.",
            param="enabled_events",
            code="parameter_missing",
        )
    for i, name in enumerate(events):
        if not isinstance(name, str) or not _EVENT_TYPE.fullmatch(name):
            raise invalid(f"Invalid enabled_events[{i}]: {name}", param=f"enabled_events[{i}]")
    return events


def _endpoint(world: World, endpoint_id: str) -> Endpoint:
    endpoint = world.webhooks.endpoints.get(endpoint_id)
    if endpoint is None:
        raise missing("webhook endpoint", endpoint_id)
    return endpoint


def create(world: World, call: Call) -> dict[str, Any]:
    _platform(call)
    params = call.params
    p.known(params, CREATE_PARAMS)
    url = p.url(params, "url", required=True)
    events = _events(params)
    endpoint = world.webhooks.add_endpoint(
        url,
        events=events,
        connect=p.boolean(params, "connect"),
        api_version=check_version(p.text(params, "api_version")),
        description=p.text(params, "description"),
        metadata=p.metadata(params),
    )
    return {**endpoint.resource(), "secret": endpoint.secret}


def retrieve(world: World, call: Call, endpoint_id: str) -> dict[str, Any]:
    _platform(call)
    return _endpoint(world, endpoint_id).resource()


def update(world: World, call: Call, endpoint_id: str) -> dict[str, Any]:
    _platform(call)
    p.known(call.params, UPDATE_PARAMS)
    endpoint = _endpoint(world, endpoint_id)
    if "url" in call.params:
        endpoint.url = p.url(call.params, "url", required=True) or endpoint.url
    if "enabled_events" in call.params:
        endpoint.enabled_events = _events(call.params)
    if "description" in call.params:
        endpoint.description = p.text(call.params, "description")
    endpoint.metadata = p.metadata(call.params, endpoint.metadata)
    return endpoint.resource()


def delete(world: World, call: Call, endpoint_id: str) -> dict[str, Any]:
    _platform(call)
    _endpoint(world, endpoint_id)
    del world.webhooks.endpoints[endpoint_id]
    return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}


def list_endpoints(world: World, call: Call) -> dict[str, Any]:
    _platform(call)
    p.known(call.params, listing.LIST_PARAMS)
    rows = [e.resource() for e in reversed(world.webhooks.endpoints.values())]
    return listing.page(rows, call.params, "/v1/webhook_endpoints", "webhook endpoint")
