"""gRPC entrypoints of payments: Stripe's two webhook endpoints (the raw body and its
signature) and the merchant's PaymentsAdmin."""

from __future__ import annotations

import grpc
from shop.checkout.v1 import checkout_pb2 as pb
from shop.checkout.v1 import checkout_pb2_grpc, payments_pb2, payments_pb2_grpc

from services.checkout.payments.onboarding import Payments
from services.checkout.payments.stripe_events import StripeEvents
from services.common.interceptors import metadata_values
from services.common.messages import money, to_timestamp


class StripeWebhooksServicer(checkout_pb2_grpc.StripeWebhooksServicer):
    def __init__(self, events: StripeEvents) -> None:
        self._events = events

    async def HandleEvent(
        self, request: pb.HandleEventRequest, context: grpc.aio.ServicerContext
    ) -> pb.HandleEventResponse:
        signature = next(iter(metadata_values(context, "stripe-signature")), "")
        await self._events.handle(request.body.data, signature, connect=False)
        return pb.HandleEventResponse()

    async def HandleConnectEvent(
        self, request: pb.HandleEventRequest, context: grpc.aio.ServicerContext
    ) -> pb.HandleEventResponse:
        signature = next(iter(metadata_values(context, "stripe-signature")), "")
        await self._events.handle(request.body.data, signature, connect=True)
        return pb.HandleEventResponse()


class PaymentsAdminServicer(payments_pb2_grpc.PaymentsAdminServicer):
    def __init__(self, payments: Payments) -> None:
        self._payments = payments

    async def StartPaymentsOnboarding(
        self,
        request: payments_pb2.StartPaymentsOnboardingRequest,
        context: grpc.aio.ServicerContext,
    ) -> payments_pb2.PaymentsOnboarding:
        account_id, link = await self._payments.start_onboarding()
        return payments_pb2.PaymentsOnboarding(
            account_id=account_id, url=link.url, expires_at=to_timestamp(link.expires_at)
        )

    async def GetPaymentsStatus(
        self, request: payments_pb2.GetPaymentsStatusRequest, context: grpc.aio.ServicerContext
    ) -> payments_pb2.PaymentsStatus:
        state = await self._payments.status()
        return payments_pb2.PaymentsStatus(
            account_id=state.account_id or "",
            charges_enabled=state.charges_enabled,
            payouts_enabled=state.payouts_enabled,
            details_submitted=state.details_submitted,
            requirements_due=list(state.requirements_due),
            disabled_reason=state.disabled_reason or "",
        )

    async def GetBalance(
        self, request: payments_pb2.GetBalanceRequest, context: grpc.aio.ServicerContext
    ) -> payments_pb2.Balance:
        available, pending = await self._payments.balance()
        return payments_pb2.Balance(
            available=[money(a.amount, a.currency) for a in available],
            pending=[money(a.amount, a.currency) for a in pending],
        )

    async def ListPayouts(
        self, request: payments_pb2.ListPayoutsRequest, context: grpc.aio.ServicerContext
    ) -> payments_pb2.ListPayoutsResponse:
        payouts, token = await self._payments.payouts(request.page_size, request.page_token)
        return payments_pb2.ListPayoutsResponse(
            payouts=[
                payments_pb2.Payout(
                    id=p.id,
                    amount=money(p.amount, p.currency),
                    status=p.status,
                    arrival_date=to_timestamp(p.arrival_date),
                    created_at=to_timestamp(p.created_at),
                    failure_code=p.failure_code or "",
                    failure_message=p.failure_message or "",
                )
                for p in payouts
            ],
            next_page_token=token,
        )
