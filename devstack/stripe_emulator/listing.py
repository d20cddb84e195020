"""List and search endpoints (newest first, as Stripe pages), and events.

Lists read the objects as they are now; search reads the lagging index (search_index.py), as on
Stripe, so a service that searches right after a write finds nothing (or the old state)."""

from __future__ import annotations

from typing import Any

from devstack.stripe_emulator import params as p
from devstack.stripe_emulator.errors import invalid, missing
from devstack.stripe_emulator.search import compile_query
from devstack.stripe_emulator.store import PLATFORM
from devstack.stripe_emulator.world import Call, World

LIST_PARAMS = {"limit", "starting_after", "ending_before", "expand", "created"}


def _limit(params: dict[str, Any]) -> int:
    limit = p.integer(params, "limit")
    if limit is None:
        return 10
    if not 1 <= limit <= 100:
        raise invalid("This value must be between 1 and 100.", param="limit")
    return limit


def _index(rows: list[dict[str, Any]], object_id: str, param: str, kind: str) -> int:
    for i, row in enumerate(rows):
        if row["id"] == object_id:
            return i
    raise missing(kind, object_id, param)


def page(rows: list[dict[str, Any]], params: dict[str, Any], url: str, kind: str) -> dict[str, Any]:
    """Stripe's cursor paging over `rows` (newest first): limit, starting_after, ending_before."""
    limit = _limit(params)
    if after := p.text(params, "starting_after"):
        rows = rows[_index(rows, after, "starting_after", kind) + 1 :]
    elif before := p.text(params, "ending_before"):
        rows = rows[: _index(rows, before, "ending_before", kind)][-limit:]
    return {"object": "list", "data": rows[:limit], "has_more": len(rows) > limit, "url": url}


def filtered(rows: list[dict[str, Any]], params: dict[str, Any], *names: str) -> list[dict]:
    for name in names:
        if value := p.text(params, name):
            rows = [r for r in rows if r.get(name) == value]
    return rows


def list_intents(world: World, call: Call) -> dict[str, Any]:
    p.known(call.params, LIST_PARAMS | {"customer"})
    rows = filtered(world.store.all(call.account, "payment_intent"), call.params, "customer")
    return page(rows, call.params, "/v1/payment_intents", "payment_intent")


def list_charges(world: World, call: Call) -> dict[str, Any]:
    p.known(call.params, LIST_PARAMS | {"customer", "payment_intent", "transfer_group"})
    rows = world.store.all(call.account, "charge")
    rows = filtered(rows, call.params, "customer", "payment_intent", "transfer_group")
    return page(rows, call.params, "/v1/charges", "charge")


def _search(world: World, call: Call, kind: str, url: str) -> dict[str, Any]:
    p.known(call.params, {"query", "limit", "page", "expand"})
    predicate = compile_query(p.text(call.params, "query") or "", kind)
    limit = _limit(call.params)
    page_token = p.text(call.params, "page")
    offset = int(page_token) if page_token and page_token.isdigit() else 0
    rows = []
    for obj in world.store.all(call.account, kind):
        seen = world.search.as_searched(obj)
        if seen is not None and predicate(seen):
            rows.append(seen)
    has_more = len(rows) > offset + limit
    return {
        "object": "search_result",
        "data": rows[offset : offset + limit],
        "has_more": has_more,
        "next_page": str(offset + limit) if has_more else None,
        "url": url,
    }


def search_intents(world: World, call: Call) -> dict[str, Any]:
    return _search(world, call, "payment_intent", "/v1/payment_intents/search")


def search_charges(world: World, call: Call) -> dict[str, Any]:
    return _search(world, call, "charge", "/v1/charges/search")


def retrieve_event(world: World, call: Call, event_id: str) -> dict[str, Any]:
    event = world.webhooks.events.get(event_id)
    if event is None or event.body.get("account", PLATFORM) != call.account:
        raise missing("event", event_id)
    return event.body


def list_events(world: World, call: Call) -> dict[str, Any]:
    p.known(call.params, LIST_PARAMS | {"type", "types", "delivery_success"})
    type_ = p.text(call.params, "type")
    rows = [
        e.body
        for e in reversed(world.webhooks.events.values())
        if e.body.get("account", PLATFORM) == call.account
        and (type_ is None or e.body["type"] == type_)
    ]
    return page(rows, call.params, "/v1/events", "event")
