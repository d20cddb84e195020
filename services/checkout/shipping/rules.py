"""Where a store ships and what it costs, as plain Python: zones of ISO areas, and the rates of
each zone (flat, free above a subtotal, or by weight bands). No SQL here.

A zone lists areas: an ISO 3166-1 alpha-2 country ("US": all of it) or an ISO 3166-2 region
("US-CA": that region only). An address is in a zone when its country, or its country and
region, is one of the zone's areas."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.common.errors import Validator

KINDS = ("flat", "free_above", "weight")
MAX_AREAS = 250
MAX_BANDS = 50
MAX_NAME = 100
MAX_PRICE = 10**12
_AREA = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")


@dataclass(frozen=True)
class WeightBand:
    """Orders weighing up to `up_to_grams` (inclusive) cost `price`."""

    up_to_grams: int
    price: int


@dataclass(frozen=True)
class Rate:
    kind: str  # flat | free_above | weight
    price: int = 0  # flat and free_above: the price below the threshold
    free_above: int = 0  # free_above: a subtotal at or above this ships free
    bands: tuple[WeightBand, ...] = ()  # weight: ascending by up_to_grams


def area_key(country: str, region: str = "") -> tuple[str, str]:
    """The address's country and ISO 3166-2 region ("US", "US-CA"), upper-cased. A region
    given as its subdivision code alone ("CA" in the US) becomes "US-CA"."""
    country = country.strip().upper()
    region = region.strip().upper()
    if region and not region.startswith(country + "-"):
        region = f"{country}-{region}"
    return country, region


def in_zone(areas: Iterable[str], country: str, region: str = "") -> bool:
    country, region = area_key(country, region)
    listed = set(areas)
    return country in listed or (bool(region) and region in listed)


def price_of(rate: Rate, subtotal: int, weight_grams: int) -> int | None:
    """What the rate costs for a cart of this subtotal (the lines' prices as the shopper sees
    them) and weight; None when the rate does not apply (heavier than every band)."""
    if rate.kind == "flat":
        return rate.price
    if rate.kind == "free_above":
        return 0 if subtotal >= rate.free_above else rate.price
    for band in rate.bands:
        if weight_grams <= band.up_to_grams:
            return band.price
    return None


def validate_areas(areas: Sequence[str], field: str = "areas") -> tuple[str, ...]:
    v = Validator()
    cleaned = tuple(dict.fromkeys(a.strip().upper() for a in areas))
    v.check(0 < len(cleaned) <= MAX_AREAS, field, f"list 1 to {MAX_AREAS} areas")
    bad = [a for a in cleaned if not _AREA.match(a)]
    v.check(
        not bad,
        field,
        f'{bad[:3]} are not ISO 3166 codes: use a country ("US") or a region ("US-CA")',
    )
    v.raise_if_any()
    return cleaned


def validate_name(name: str, field: str = "name") -> str:
    name = name.strip()
    v = Validator()
    v.check(0 < len(name) <= MAX_NAME, field, f"is required (at most {MAX_NAME} characters)")
    v.raise_if_any()
    return name


def validate_rate(rate: Rate) -> Rate:
    v = Validator()
    v.check(rate.kind in KINDS, "kind", f"must be one of {list(KINDS)}")
    v.check(0 <= rate.price <= MAX_PRICE, "price", "must be 0 or more (minor units)")
    if rate.kind == "free_above":
        v.check(0 < rate.free_above <= MAX_PRICE, "free_above", "must be more than 0")
    if rate.kind == "weight":
        ups = [b.up_to_grams for b in rate.bands]
        v.check(0 < len(ups) <= MAX_BANDS, "weight_bands", f"give 1 to {MAX_BANDS} bands")
        v.check(all(u > 0 for u in ups), "weight_bands", "up_to_grams must be more than 0")
        v.check(ups == sorted(set(ups)), "weight_bands", "up_to_grams must strictly increase")
        v.check(
            all(0 <= b.price <= MAX_PRICE for b in rate.bands),
            "weight_bands",
            "each price must be 0 or more (minor units)",
        )
    v.raise_if_any()
    return rate


@dataclass(frozen=True)
class ZoneRate:
    """A rate with what deciding on it needs: its zone's areas and the currency it is in."""

    id: str
    name: str
    rate: Rate
    areas: tuple[str, ...]
    currency: str


def rate_from_row(kind: str, price: int, free_above: int, bands: list[dict[str, int]]) -> Rate:
    return Rate(
        kind=kind,
        price=price,
        free_above=free_above,
        bands=tuple(WeightBand(int(b["up_to_grams"]), int(b["price"])) for b in bands),
    )
