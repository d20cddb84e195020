"""The merchant's shipping and tax setup (ShippingAdmin): zones and their rates, tax rates and
the store's tax settings. Each call validates first, then runs in one tenant transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from services.checkout.shipping import repository as repo
from services.checkout.shipping.rules import (
    Rate,
    ZoneRate,
    validate_areas,
    validate_name,
    validate_rate,
)
from services.checkout.tax.rules import TaxSettings
from services.checkout.tax.rules import validate_rate as validate_tax_rate
from services.common.cursor import page_size
from services.common.db import tenant_transaction
from services.common.errors import InvalidArgument
from services.common.ids import parse_uuid
from services.common.tenancy import require_store_id


class ShippingSetup:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def _zone(self, conn: asyncpg.Connection, store_id: int, zone_id: uuid.UUID) -> repo.Zone:
        [zone], _ = await repo.zones_page(conn, store_id, 1, "", zone_id)
        return zone

    async def create_zone(self, name: str, areas: Sequence[str]) -> repo.Zone:
        name, cleaned = validate_name(name), validate_areas(areas)
        store_id = require_store_id()
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            zone_id = await repo.insert_zone(conn, store_id, name, cleaned)
            return await self._zone(conn, store_id, zone_id)

    async def update_zone(self, raw_id: str, name: str, areas: Sequence[str]) -> repo.Zone:
        zone_id = parse_uuid(raw_id, "id")
        name, cleaned = validate_name(name), validate_areas(areas)
        store_id = require_store_id()
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            await repo.update_zone(conn, store_id, zone_id, name, cleaned)
            return await self._zone(conn, store_id, zone_id)

    async def delete_zone(self, raw_id: str) -> None:
        zone_id = parse_uuid(raw_id, "id")
        store_id = require_store_id()
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            await repo.delete_zone(conn, store_id, zone_id)

    async def zones(self, size: int, token: str) -> tuple[list[repo.Zone], str]:
        size = page_size(size)
        store_id = require_store_id()
        async with tenant_transaction(self._pool, store_id=store_id, readonly=True) as conn:
            return await repo.zones_page(conn, store_id, size, token)

    async def create_rate(self, raw_zone_id: str, name: str, rate: Rate) -> ZoneRate:
        zone_id = parse_uuid(raw_zone_id, "zone_id")
        name, rate = validate_name(name), validate_rate(rate)
        store_id = require_store_id()
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            rate_id = await repo.insert_rate(conn, store_id, zone_id, name, rate)
            return _rate_in(await self._zone(conn, store_id, zone_id), rate_id)

    async def update_rate(self, raw_id: str, name: str, rate: Rate) -> ZoneRate:
        rate_id = parse_uuid(raw_id, "id")
        name, rate = validate_name(name), validate_rate(rate)
        store_id = require_store_id()
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            zone_id = await repo.update_rate(conn, store_id, rate_id, name, rate)
            return _rate_in(await self._zone(conn, store_id, zone_id), rate_id)

    async def delete_rate(self, raw_id: str) -> None:
        rate_id = parse_uuid(raw_id, "id")
        store_id = require_store_id()
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            await repo.delete_rate(conn, store_id, rate_id)

    async def rate_zone(self, rate: ZoneRate) -> str:
        """The zone id of a rate (for its message)."""
        store_id = require_store_id()
        async with tenant_transaction(self._pool, store_id=store_id, readonly=True) as conn:
            return str(await repo.zone_of_rate(conn, store_id, uuid.UUID(rate.id)))

    # --- tax ------------------------------------------------------------------------------

    async def tax_settings(self) -> TaxSettings:
        store_id = require_store_id()
        async with tenant_transaction(self._pool, store_id=store_id, readonly=True) as conn:
            return await repo.tax_settings(conn, store_id)

    async def update_tax_settings(self, settings: TaxSettings) -> TaxSettings:
        store_id = require_store_id()
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            await repo.save_tax_settings(conn, store_id, settings)
            return await repo.tax_settings(conn, store_id)

    async def create_tax_rate(
        self, country: str, region: str, rate_millipercent: int
    ) -> repo.StoredTaxRate:
        rate = validate_tax_rate(country, region, rate_millipercent)
        store_id = require_store_id()
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            rate_id = await repo.insert_tax_rate(conn, store_id, rate)
            return await repo.load_tax_rate(conn, store_id, rate_id)

    async def update_tax_rate(self, raw_id: str, rate_millipercent: int) -> repo.StoredTaxRate:
        rate_id = parse_uuid(raw_id, "id")
        validate_tax_rate("US", "", rate_millipercent)  # the rate's bounds (country is kept)
        store_id = require_store_id()
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            await repo.update_tax_rate(conn, store_id, rate_id, rate_millipercent)
            return await repo.load_tax_rate(conn, store_id, rate_id)

    async def delete_tax_rate(self, raw_id: str) -> None:
        rate_id = parse_uuid(raw_id, "id")
        store_id = require_store_id()
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            await repo.delete_tax_rate(conn, store_id, rate_id)

    async def tax_rates(self, size: int, token: str) -> tuple[list[repo.StoredTaxRate], str]:
        size = page_size(size)
        store_id = require_store_id()
        async with tenant_transaction(self._pool, store_id=store_id, readonly=True) as conn:
            return await repo.tax_rates_page(conn, store_id, size, token)


def _rate_in(zone: repo.Zone, rate_id: uuid.UUID) -> ZoneRate:
    for rate in zone.rates:
        if rate.id == str(rate_id):
            return rate
    raise InvalidArgument.field("id", "no such rate")  # unreachable: written just now
