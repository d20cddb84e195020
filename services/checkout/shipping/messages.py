"""Shipping and tax setup ⇄ ShippingAdmin / Cart messages."""

from __future__ import annotations

from shop.checkout.v1 import checkout_pb2 as pb

from services.checkout.checkout.totals_rules import Totals
from services.checkout.shipping.options import Options
from services.checkout.shipping.repository import StoredTaxRate, Zone
from services.checkout.shipping.rules import Rate, WeightBand, ZoneRate
from services.checkout.tax.rules import TaxSettings
from services.common.messages import money


def rate_from(kind: str, price: int, free_above: int, bands: list[pb.WeightBand]) -> Rate:
    return Rate(
        kind=kind.strip(),
        price=price,
        free_above=free_above,
        bands=tuple(WeightBand(b.up_to_grams, b.price_minor) for b in bands),
    )


def rate_message(rate: ZoneRate, zone_id: str) -> pb.ShippingRate:
    r = rate.rate
    return pb.ShippingRate(
        id=rate.id,
        zone_id=zone_id,
        name=rate.name,
        kind=r.kind,
        price=money(r.price, rate.currency),
        free_above=money(r.free_above, rate.currency),
        weight_bands=[
            pb.WeightBand(up_to_grams=b.up_to_grams, price_minor=b.price) for b in r.bands
        ],
    )


def zone_message(zone: Zone) -> pb.ShippingZone:
    return pb.ShippingZone(
        id=str(zone.id),
        name=zone.name,
        areas=list(zone.areas),
        rates=[rate_message(rate, str(zone.id)) for rate in zone.rates],
    )


def tax_settings_message(settings: TaxSettings) -> pb.TaxSettings:
    return pb.TaxSettings(
        prices_include_tax=settings.prices_include_tax, tax_shipping=settings.tax_shipping
    )


def tax_rate_message(stored: StoredTaxRate) -> pb.TaxRate:
    return pb.TaxRate(
        id=str(stored.id),
        country=stored.rate.country,
        region=stored.rate.region,
        rate_millipercent=stored.rate.rate_millipercent,
    )


def totals_message(totals: Totals, currency: str) -> pb.OrderTotals:
    return pb.OrderTotals(
        subtotal=money(totals.subtotal, currency),
        shipping=money(totals.shipping, currency),
        tax=money(totals.tax, currency),
        discount=money(totals.discount, currency),
        total=money(totals.total, currency),
    )


def options_message(found: Options) -> pb.ListShippingRatesResponse:
    c = found.currency
    return pb.ListShippingRatesResponse(
        options=[
            pb.ShippingOption(
                id=o.id,
                name=o.name,
                price=money(o.price, c),
                estimate=totals_message(o.estimate, c),
            )
            for o in found.options
        ],
        estimate=totals_message(found.estimate, c),
    )
