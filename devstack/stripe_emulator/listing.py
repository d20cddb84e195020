"""List and search endpoints (newest first, as Stripe pages), and events by id."""

from __future__ import annotations

from typing import Any

from devstack.stripe_emulator import params as p
from devstack.stripe_emulator.errors import invalid, missing
from devstack.stripe_emulator.search import compile_query
from devstack.stripe_emulator.store import PLATFORM
from devstack.stripe_emulator.world import Call, World


def _limit(params: dict[str, Any]) -> int:
    limit = p.integer(params, "limit")
    if limit is None:
        return 10
    if not 1 <= limit <= 100:
        raise invalid("This value must be between 1 and 100.", param="limit")
    return limit


def _index(rows: list[dict[str, Any]], object_id: str, param: str) -> int:
    for i, row in enumerate(rows):
        if row["id"] == object_id:
            return i
    raise missing("payment_intent", object_id, param)


def list_intents(world: World, call: Call) -> dict[str, Any]:
    limit = _limit(call.params)
    rows = world.store.all(call.account, "payment_intent")
    if customer := p.text(call.params, "customer"):
        rows = [r for r in rows if r["customer"] == customer]
    if after := p.text(call.params, "starting_after"):
        rows = rows[_index(rows, after, "starting_after") + 1 :]
    elif before := p.text(call.params, "ending_before"):
        rows = rows[: _index(rows, before, "ending_before")][-limit:]
    return {
        "object": "list",
        "data": rows[:limit],
        "has_more": len(rows) > limit,
        "url": "/v1/payment_intents",
    }


def search_intents(world: World, call: Call) -> dict[str, Any]:
    """Unlike Stripe (where new data takes up to a minute to be searchable) results are
    immediate: tests of reconciliation should not depend on that delay either way."""
    predicate = compile_query(p.text(call.params, "query") or "")
    limit = _limit(call.params)
    page = p.text(call.params, "page")
    offset = int(page) if page and page.isdigit() else 0
    rows = [r for r in world.store.all(call.account, "payment_intent") if predicate(r)]
    has_more = len(rows) > offset + limit
    return {
        "object": "search_result",
        "data": rows[offset : offset + limit],
        "has_more": has_more,
        "next_page": str(offset + limit) if has_more else None,
        "url": "/v1/payment_intents/search",
    }


def retrieve_event(world: World, call: Call, event_id: str) -> dict[str, Any]:
    event = world.webhooks.events.get(event_id)
    if event is None or event.body.get("account", PLATFORM) != call.account:
        raise missing("event", event_id)
    return event.body
