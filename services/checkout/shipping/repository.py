"""Shipping zones and rates, tax rates and the store's tax settings in PostgreSQL: the
merchant's CRUD and what a checkout (or a shopper's listing) reads for one address. Every call
runs in the caller's tenant transaction and every statement names its store."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.checkout.checkout.totals_rules import PricingSetup
from services.checkout.shipping.rules import Rate, ZoneRate, area_key, rate_from_row
from services.checkout.tax.rules import TaxRate, TaxSettings
from services.common import cursor
from services.common.errors import AlreadyExists, NotFound
from services.common.ids import uuid_or_none

PAGE_KINDS: cursor.Kinds = {"oldest": (datetime, uuid.UUID)}
TAX_PAGE_KINDS: cursor.Kinds = {"area": (str, str, uuid.UUID)}


@dataclass(frozen=True)
class Zone:
    id: uuid.UUID
    name: str
    areas: tuple[str, ...]
    rates: tuple[ZoneRate, ...]
    created_at: datetime


@dataclass(frozen=True)
class StoredTaxRate:
    id: uuid.UUID
    rate: TaxRate


# One round trip: does the store ship anywhere, to this address, the requested rate, the tax
# settings and the address's most specific tax rate.
_SETUP = """
SELECT EXISTS (SELECT 1 FROM shipping_zones z WHERE z.store_id = $1) AS ships,
       EXISTS (SELECT 1 FROM shipping_zones z WHERE z.store_id = $1 AND z.areas && $2::text[])
         AS covered,
       (SELECT json_build_object('id', r.id, 'name', r.name, 'kind', r.kind, 'price', r.price,
                                 'free_above', r.free_above, 'bands', r.weight_bands,
                                 'currency', r.currency, 'areas', z.areas)::text
          FROM shipping_rates r
          JOIN shipping_zones z ON z.store_id = r.store_id AND z.id = r.zone_id
         WHERE r.store_id = $1 AND r.id = $3) AS rate,
       (SELECT s.prices_include_tax FROM store_tax_settings s WHERE s.store_id = $1)
         AS prices_include_tax,
       (SELECT s.tax_shipping FROM store_tax_settings s WHERE s.store_id = $1) AS tax_shipping,
       (SELECT t.rate_millipercent FROM tax_rates t
         WHERE t.store_id = $1 AND t.country = $4 AND t.region IN ('', $5)
         ORDER BY t.region DESC LIMIT 1) AS tax_rate
"""

_RATE_COLUMNS = """r.id, r.name, r.kind, r.price, r.free_above, r.weight_bands::text AS bands,
                   r.currency, z.areas"""


def _zone_rate(row: asyncpg.Record) -> ZoneRate:
    return ZoneRate(
        id=str(row["id"]),
        name=row["name"],
        rate=rate_from_row(row["kind"], row["price"], row["free_above"], json.loads(row["bands"])),
        areas=tuple(row["areas"]),
        currency=row["currency"],
    )


def _bands(rate: Rate) -> str:
    return json.dumps([{"up_to_grams": b.up_to_grams, "price": b.price} for b in rate.bands])


async def setup_for(
    conn: asyncpg.Connection, store_id: int, country: str, region: str, rate_id: str
) -> PricingSetup:
    country, region = area_key(country, region)
    row = await conn.fetchrow(
        _SETUP,
        store_id,
        [country, region] if region else [country],
        uuid_or_none(rate_id),
        country,
        region,
    )
    assert row is not None
    rate = None
    if row["rate"]:
        raw = json.loads(row["rate"])
        rate = ZoneRate(
            id=raw["id"],
            name=raw["name"],
            rate=rate_from_row(raw["kind"], raw["price"], raw["free_above"], raw["bands"]),
            areas=tuple(raw["areas"]),
            currency=raw["currency"],
        )
    return PricingSetup(
        ships=row["ships"],
        covered=row["covered"],
        rate=rate,
        settings=TaxSettings(bool(row["prices_include_tax"]), bool(row["tax_shipping"])),
        tax_rate=row["tax_rate"] or 0,
    )


async def rates_to(
    conn: asyncpg.Connection, store_id: int, country: str, region: str
) -> list[ZoneRate]:
    """Every rate of every zone that covers the address (cheapest first)."""
    country, region = area_key(country, region)
    rows = await conn.fetch(
        f"""SELECT {_RATE_COLUMNS} FROM shipping_rates r
              JOIN shipping_zones z ON z.store_id = r.store_id AND z.id = r.zone_id
             WHERE r.store_id = $1 AND z.areas && $2::text[]
             ORDER BY r.price, r.id""",
        store_id,
        [country, region] if region else [country],
    )
    return [_zone_rate(r) for r in rows]


# --- the merchant's zones and rates -------------------------------------------------------


async def insert_zone(
    conn: asyncpg.Connection, store_id: int, name: str, areas: tuple[str, ...]
) -> uuid.UUID:
    zone_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO shipping_zones (store_id, id, name, areas, created_at, updated_at)
           VALUES ($1, $2, $3, $4, now(), now())""",
        store_id,
        zone_id,
        name,
        list(areas),
    )
    return zone_id


async def update_zone(
    conn: asyncpg.Connection, store_id: int, zone_id: uuid.UUID, name: str, areas: tuple[str, ...]
) -> None:
    done = await conn.fetchval(
        """UPDATE shipping_zones SET name = $3, areas = $4, updated_at = now()
           WHERE store_id = $1 AND id = $2 RETURNING id""",
        store_id,
        zone_id,
        name,
        list(areas),
    )
    if done is None:
        raise NotFound("no shipping zone with this id in this store")


async def delete_zone(conn: asyncpg.Connection, store_id: int, zone_id: uuid.UUID) -> None:
    if not await conn.fetchval(
        "DELETE FROM shipping_zones WHERE store_id = $1 AND id = $2 RETURNING id",
        store_id,
        zone_id,
    ):
        raise NotFound("no shipping zone with this id in this store")


async def zones_page(
    conn: asyncpg.Connection, store_id: int, size: int, token: str, zone_id: uuid.UUID | None = None
) -> tuple[list[Zone], str]:
    position = cursor.decode(token, PAGE_KINDS, {})[1] if token else None
    args: list[object] = [store_id, size + 1]
    where = "z.store_id = $1"
    if zone_id is not None:
        args.append(zone_id)
        where += f" AND z.id = ${len(args)}"
    if position:
        args += [position[0], position[1]]
        where += f" AND (z.created_at, z.id) > (${len(args) - 1}, ${len(args)})"
    rows = await conn.fetch(
        f"""SELECT z.id, z.name, z.areas, z.created_at,
                   ARRAY(SELECT ROW(r.id, r.name, r.kind, r.price, r.free_above,
                                    r.weight_bands::text, r.currency)
                           FROM shipping_rates r
                          WHERE r.store_id = z.store_id AND r.zone_id = z.id
                          ORDER BY r.created_at, r.id) AS rates
            FROM shipping_zones z WHERE {where}
            ORDER BY z.created_at, z.id LIMIT $2""",
        *args,
    )
    zones = [
        Zone(
            id=r["id"],
            name=r["name"],
            areas=tuple(r["areas"]),
            rates=tuple(
                ZoneRate(
                    str(rid),
                    name,
                    rate_from_row(kind, price, free, json.loads(bands)),
                    tuple(r["areas"]),
                    currency,
                )
                for rid, name, kind, price, free, bands, currency in r["rates"]
            ),
            created_at=r["created_at"],
        )
        for r in rows[:size]
    ]
    next_token = ""
    if len(rows) > size:
        next_token = cursor.encode("oldest", {}, (zones[-1].created_at, zones[-1].id))
    return zones, next_token


async def zone_of_rate(conn: asyncpg.Connection, store_id: int, rate_id: uuid.UUID) -> uuid.UUID:
    zone_id = await conn.fetchval(
        "SELECT zone_id FROM shipping_rates WHERE store_id = $1 AND id = $2", store_id, rate_id
    )
    if zone_id is None:
        raise NotFound("no shipping rate with this id in this store")
    return zone_id


async def insert_rate(
    conn: asyncpg.Connection, store_id: int, zone_id: uuid.UUID, name: str, rate: Rate
) -> uuid.UUID:
    rate_id = uuid.uuid4()
    done = await conn.fetchval(
        """INSERT INTO shipping_rates (store_id, id, zone_id, name, kind, price, free_above,
                                       weight_bands, currency, created_at, updated_at)
           SELECT z.store_id, $2, z.id, $4, $5, $6, $7, $8::jsonb, s.currency,
                  now(), now()
             FROM shipping_zones z JOIN stores s ON s.id = z.store_id
            WHERE z.store_id = $1 AND z.id = $3
           RETURNING id""",
        store_id,
        rate_id,
        zone_id,
        name,
        rate.kind,
        rate.price,
        rate.free_above,
        _bands(rate),
    )
    if done is None:
        raise NotFound("no shipping zone with this id in this store")
    return rate_id


async def update_rate(
    conn: asyncpg.Connection, store_id: int, rate_id: uuid.UUID, name: str, rate: Rate
) -> uuid.UUID:
    zone_id = await conn.fetchval(
        """UPDATE shipping_rates
              SET name = $3, kind = $4, price = $5, free_above = $6, weight_bands = $7::jsonb,
                  updated_at = now()
            WHERE store_id = $1 AND id = $2 RETURNING zone_id""",
        store_id,
        rate_id,
        name,
        rate.kind,
        rate.price,
        rate.free_above,
        _bands(rate),
    )
    if zone_id is None:
        raise NotFound("no shipping rate with this id in this store")
    return zone_id


async def delete_rate(conn: asyncpg.Connection, store_id: int, rate_id: uuid.UUID) -> None:
    if not await conn.fetchval(
        "DELETE FROM shipping_rates WHERE store_id = $1 AND id = $2 RETURNING id",
        store_id,
        rate_id,
    ):
        raise NotFound("no shipping rate with this id in this store")


# --- tax ------------------------------------------------------------------------------------


async def tax_settings(conn: asyncpg.Connection, store_id: int) -> TaxSettings:
    row = await conn.fetchrow(
        "SELECT prices_include_tax, tax_shipping FROM store_tax_settings WHERE store_id = $1",
        store_id,
    )
    return TaxSettings(row["prices_include_tax"], row["tax_shipping"]) if row else TaxSettings()


async def save_tax_settings(conn: asyncpg.Connection, store_id: int, settings: TaxSettings) -> None:
    await conn.execute(
        """INSERT INTO store_tax_settings (store_id, prices_include_tax, tax_shipping, updated_at)
           VALUES ($1, $2, $3, now())
           ON CONFLICT (store_id) DO UPDATE
             SET prices_include_tax = EXCLUDED.prices_include_tax,
                 tax_shipping = EXCLUDED.tax_shipping, updated_at = EXCLUDED.updated_at""",
        store_id,
        settings.prices_include_tax,
        settings.tax_shipping,
    )


async def insert_tax_rate(conn: asyncpg.Connection, store_id: int, rate: TaxRate) -> uuid.UUID:
    rate_id = uuid.uuid4()
    try:
        async with conn.transaction():
            await conn.execute(
                """INSERT INTO tax_rates (store_id, id, country, region, rate_millipercent,
                                          created_at, updated_at)
                   VALUES ($1, $2, $3, $4, $5, now(), now())""",
                store_id,
                rate_id,
                rate.country,
                rate.region,
                rate.rate_millipercent,
            )
    except asyncpg.UniqueViolationError:
        where = rate.region or rate.country
        raise AlreadyExists(
            f"this store has a tax rate for {where} already; update that one"
        ) from None
    return rate_id


async def load_tax_rate(
    conn: asyncpg.Connection, store_id: int, rate_id: uuid.UUID
) -> StoredTaxRate:
    row = await conn.fetchrow(
        """SELECT id, country, region, rate_millipercent FROM tax_rates
           WHERE store_id = $1 AND id = $2""",
        store_id,
        rate_id,
    )
    if row is None:
        raise NotFound("no tax rate with this id in this store")
    return StoredTaxRate(
        row["id"], TaxRate(row["country"].strip(), row["region"], row["rate_millipercent"])
    )


async def update_tax_rate(
    conn: asyncpg.Connection, store_id: int, rate_id: uuid.UUID, rate_millipercent: int
) -> None:
    if not await conn.fetchval(
        """UPDATE tax_rates SET rate_millipercent = $3, updated_at = now()
           WHERE store_id = $1 AND id = $2 RETURNING id""",
        store_id,
        rate_id,
        rate_millipercent,
    ):
        raise NotFound("no tax rate with this id in this store")


async def delete_tax_rate(conn: asyncpg.Connection, store_id: int, rate_id: uuid.UUID) -> None:
    if not await conn.fetchval(
        "DELETE FROM tax_rates WHERE store_id = $1 AND id = $2 RETURNING id", store_id, rate_id
    ):
        raise NotFound("no tax rate with this id in this store")


async def tax_rates_page(
    conn: asyncpg.Connection, store_id: int, size: int, token: str
) -> tuple[list[StoredTaxRate], str]:
    position = cursor.decode(token, TAX_PAGE_KINDS, {})[1] if token else None
    args: list[object] = [store_id, size + 1]
    where = "store_id = $1"
    if position:
        args += list(position)
        where += " AND (country, region, id) > ($3, $4, $5)"
    rows = await conn.fetch(
        f"""SELECT id, country, region, rate_millipercent FROM tax_rates WHERE {where}
            ORDER BY country, region, id LIMIT $2""",
        *args,
    )
    found = [
        StoredTaxRate(r["id"], TaxRate(r["country"].strip(), r["region"], r["rate_millipercent"]))
        for r in rows[:size]
    ]
    next_token = ""
    if len(rows) > size:
        last = found[-1]
        next_token = cursor.encode("area", {}, (last.rate.country, last.rate.region, last.id))
    return found, next_token


async def cart_weight(conn: asyncpg.Connection, store_id: int, quantities: dict[str, int]) -> int:
    """Grams of these variants x quantities (a variant without a weight weighs nothing)."""
    ids = [u for u in (uuid_or_none(v) for v in quantities) if u]
    if not ids:
        return 0
    rows = await conn.fetch(
        "SELECT id, weight_grams FROM variants WHERE store_id = $1 AND id = ANY($2::uuid[])",
        store_id,
        ids,
    )
    return sum((r["weight_grams"] or 0) * quantities[str(r["id"])] for r in rows)


async def store_currency(conn: asyncpg.Connection, store_id: int) -> str:
    return str(await conn.fetchval("SELECT currency FROM stores WHERE id = $1", store_id))
