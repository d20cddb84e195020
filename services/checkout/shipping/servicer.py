"""gRPC entrypoint of ShippingAdmin: thin translations to the shipping setup use cases."""

from __future__ import annotations

from shop.checkout.v1 import checkout_pb2 as pb
from shop.checkout.v1 import checkout_pb2_grpc

from services.checkout.shipping.admin import ShippingSetup
from services.checkout.shipping.messages import (
    rate_from,
    rate_message,
    tax_rate_message,
    tax_settings_message,
    zone_message,
)
from services.checkout.tax.rules import TaxSettings


class ShippingAdminServicer(checkout_pb2_grpc.ShippingAdminServicer):
    def __init__(self, setup: ShippingSetup) -> None:
        self._setup = setup

    async def CreateShippingZone(
        self, request: pb.CreateShippingZoneRequest, context: object
    ) -> pb.ShippingZone:
        return zone_message(await self._setup.create_zone(request.name, list(request.areas)))

    async def UpdateShippingZone(
        self, request: pb.UpdateShippingZoneRequest, context: object
    ) -> pb.ShippingZone:
        return zone_message(
            await self._setup.update_zone(request.id, request.name, list(request.areas))
        )

    async def DeleteShippingZone(
        self, request: pb.DeleteShippingZoneRequest, context: object
    ) -> pb.DeleteShippingZoneResponse:
        await self._setup.delete_zone(request.id)
        return pb.DeleteShippingZoneResponse()

    async def ListShippingZones(
        self, request: pb.ListShippingZonesRequest, context: object
    ) -> pb.ListShippingZonesResponse:
        zones, token = await self._setup.zones(request.page_size, request.page_token)
        return pb.ListShippingZonesResponse(
            zones=[zone_message(z) for z in zones], next_page_token=token
        )

    async def CreateShippingRate(
        self, request: pb.CreateShippingRateRequest, context: object
    ) -> pb.ShippingRate:
        rate = rate_from(
            request.kind, request.price_minor, request.free_above_minor, list(request.weight_bands)
        )
        made = await self._setup.create_rate(request.zone_id, request.name, rate)
        return rate_message(made, request.zone_id)

    async def UpdateShippingRate(
        self, request: pb.UpdateShippingRateRequest, context: object
    ) -> pb.ShippingRate:
        rate = rate_from(
            request.kind, request.price_minor, request.free_above_minor, list(request.weight_bands)
        )
        made = await self._setup.update_rate(request.id, request.name, rate)
        return rate_message(made, await self._setup.rate_zone(made))

    async def DeleteShippingRate(
        self, request: pb.DeleteShippingRateRequest, context: object
    ) -> pb.DeleteShippingRateResponse:
        await self._setup.delete_rate(request.id)
        return pb.DeleteShippingRateResponse()

    async def GetTaxSettings(
        self, request: pb.GetTaxSettingsRequest, context: object
    ) -> pb.TaxSettings:
        return tax_settings_message(await self._setup.tax_settings())

    async def UpdateTaxSettings(self, request: pb.TaxSettings, context: object) -> pb.TaxSettings:
        settings = TaxSettings(request.prices_include_tax, request.tax_shipping)
        return tax_settings_message(await self._setup.update_tax_settings(settings))

    async def CreateTaxRate(self, request: pb.CreateTaxRateRequest, context: object) -> pb.TaxRate:
        return tax_rate_message(
            await self._setup.create_tax_rate(
                request.country, request.region, request.rate_millipercent
            )
        )

    async def UpdateTaxRate(self, request: pb.UpdateTaxRateRequest, context: object) -> pb.TaxRate:
        return tax_rate_message(
            await self._setup.update_tax_rate(request.id, request.rate_millipercent)
        )

    async def DeleteTaxRate(
        self, request: pb.DeleteTaxRateRequest, context: object
    ) -> pb.DeleteTaxRateResponse:
        await self._setup.delete_tax_rate(request.id)
        return pb.DeleteTaxRateResponse()

    async def ListTaxRates(
        self, request: pb.ListTaxRatesRequest, context: object
    ) -> pb.ListTaxRatesResponse:
        rates, token = await self._setup.tax_rates(request.page_size, request.page_token)
        return pb.ListTaxRatesResponse(
            tax_rates=[tax_rate_message(r) for r in rates], next_page_token=token
        )
