"""Phase 1b: the cost of shipping and tax (issue 12). Spread runs at 32 concurrent, 0 ms,
alternating a store with no shipping zone and no tax rate ("without") and the same store with
one zone, a flat rate and a New York tax rate on lines and shipping ("with": every checkout
sends shipping_rate_id and a New York address, and is charged subtotal + shipping + tax).
Two rounds, interleaved (without, with, without, with), so drift on a shared machine lands on
both sides; the ratio is mean(with) / mean(without) orders/s, target >= 0.90."""

from __future__ import annotations

import httpx

from bench.checkout.shopping import ADDRESS, CHECKOUT_BODY
from bench.checkout.spread import Spread

TARGET = 0.90


def _admin(store) -> dict[str, str]:
    return {"host": store.host, "authorization": f"Bearer {store.token}"}


def _set_up(http: httpx.Client, store) -> tuple[dict, list[str]]:
    """A zone, a flat rate and a tax rate: the body that uses them, and what to delete."""
    zone = http.post(
        "/v1/admin/shipping_zones", headers=_admin(store), json={"name": "US", "areas": ["US"]}
    )
    zone.raise_for_status()
    rate = http.post(
        f"/v1/admin/shipping_zones/{zone.json()['id']}/rates",
        headers=_admin(store),
        json={"name": "Standard", "kind": "flat", "price_minor": 500},
    )
    rate.raise_for_status()
    tax = http.post(
        "/v1/admin/tax_rates",
        headers=_admin(store),
        json={"country": "US", "region": "NY", "rate_millipercent": 8875},
    )
    tax.raise_for_status()
    http.put(
        "/v1/admin/tax_settings",
        headers=_admin(store),
        json={"prices_include_tax": False, "tax_shipping": True},
    ).raise_for_status()
    body = {
        **CHECKOUT_BODY,
        "shipping_address": {**ADDRESS, "region": "NY", "city": "New York"},
        "shipping_rate_id": rate.json()["id"],
    }
    return body, [
        f"/v1/admin/shipping_zones/{zone.json()['id']}",
        f"/v1/admin/tax_rates/{tax.json()['id']}",
    ]


def shipping_tax(spread: Spread, connections: int, seconds: int) -> dict:
    p = spread.platform
    runs: dict[str, dict] = {}
    with httpx.Client(base_url=p.stack.edge_url, timeout=10) as http:
        for round_ in (1, 2):
            runs[f"without {round_}"] = spread.run(
                f"without shipping/tax {round_}", connections, 0, seconds
            )
            body, made = _set_up(http, p.store)
            runs[f"with {round_}"] = spread.run(
                f"with shipping+tax {round_}", connections, 0, seconds, body=body
            )
            for path in made:
                http.delete(path, headers=_admin(p.store)).raise_for_status()
    without = [r["orders_per_s"] for k, r in runs.items() if k.startswith("without")]
    with_ = [r["orders_per_s"] for k, r in runs.items() if k.startswith("with ")]
    base = sum(without) / len(without)
    ratio = round(sum(with_) / len(with_) / base, 3) if base else None
    return {
        "runs": runs,
        "without_orders_per_s": round(base, 1),
        "with_orders_per_s": round(sum(with_) / len(with_), 1),
        "ratio": ratio,
        "target": TARGET,
    }
