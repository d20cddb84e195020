"""gRPC entrypoints of the merchant's CustomersAdmin and the shoppers' CustomerAccounts."""

from __future__ import annotations

import grpc
from shop.checkout.v1 import customers_pb2 as pb
from shop.checkout.v1 import customers_pb2_grpc

from services.checkout.customers.accounts import Accounts, Caller
from services.checkout.customers.admin import CustomerAdmin
from services.checkout.customers.messages import (
    customer_message,
    detail_message,
    me_message,
    my_order_message,
    session_message,
)
from services.checkout.customers.rules import CustomerQuery, validate_change
from services.checkout.customers.session_rules import SESSION_HEADER, client_address
from services.common.errors import Unauthenticated
from services.common.interceptors import metadata_values

_SORTS = {
    pb.CUSTOMER_SORT_UNSPECIFIED: "newest",
    pb.CUSTOMER_SORT_NEWEST: "newest",
    pb.CUSTOMER_SORT_TOTAL_SPENT: "total_spent",
}


def session_token(context: grpc.aio.ServicerContext) -> str | None:
    """The shopper's session header; None when absent. Sent twice: refused (ambiguous)."""
    values = metadata_values(context, SESSION_HEADER)
    if len(values) > 1:
        raise Unauthenticated(f"send one {SESSION_HEADER} header")
    return values[0].strip() if values else None


def caller(context: grpc.aio.ServicerContext) -> Caller:
    return Caller(
        client=client_address(metadata_values(context, "x-forwarded-for"), context.peer() or ""),
        session_token=session_token(context),
    )


def trace_id(context: grpc.aio.ServicerContext) -> str | None:
    for value in metadata_values(context, "traceparent"):
        parts = value.split("-")
        if len(parts) == 4 and len(parts[1]) == 32:
            return parts[1]
    return None


class CustomersAdminServicer(customers_pb2_grpc.CustomersAdminServicer):
    def __init__(self, admin: CustomerAdmin) -> None:
        self._admin = admin

    async def ListCustomers(
        self, request: pb.ListCustomersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCustomersResponse:
        query = CustomerQuery(
            page_size=request.page_size,
            page_token=request.page_token,
            query=request.query,
            sort=_SORTS.get(request.sort, "newest"),
        )
        found, token = await self._admin.page(query)
        return pb.ListCustomersResponse(
            customers=[customer_message(c) for c in found], next_page_token=token
        )

    async def GetCustomer(
        self, request: pb.GetCustomerRequest, context: grpc.aio.ServicerContext
    ) -> pb.CustomerDetail:
        return detail_message(*await self._admin.get(request.id))

    async def UpdateCustomer(
        self, request: pb.UpdateCustomerRequest, context: grpc.aio.ServicerContext
    ) -> pb.Customer:
        change = validate_change(
            note=request.note if request.HasField("note") else None,
            tags=list(request.tags.tags) if request.HasField("tags") else None,
            consent=(
                request.marketing_consent.state if request.HasField("marketing_consent") else None
            ),
        )
        return customer_message(await self._admin.update(request.id, change))

    async def EraseCustomer(
        self, request: pb.EraseCustomerRequest, context: grpc.aio.ServicerContext
    ) -> pb.Customer:
        return customer_message(await self._admin.erase(request.id, trace_id(context)))


class CustomerAccountsServicer(customers_pb2_grpc.CustomerAccountsServicer):
    def __init__(self, accounts: Accounts) -> None:
        self._accounts = accounts

    async def Register(
        self, request: pb.RegisterRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegisterResponse:
        await self._accounts.register(
            caller(context),
            request.email,
            request.password,
            request.name,
            request.accepts_marketing,
        )
        return pb.RegisterResponse()

    async def ActivateAccount(
        self, request: pb.ActivateAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.SessionResponse:
        return session_message(await self._accounts.activate(caller(context), request.token))

    async def SignIn(
        self, request: pb.SignInRequest, context: grpc.aio.ServicerContext
    ) -> pb.SessionResponse:
        signed_in = await self._accounts.sign_in(caller(context), request.email, request.password)
        return session_message(signed_in)

    async def SignOut(
        self, request: pb.SignOutRequest, context: grpc.aio.ServicerContext
    ) -> pb.SignOutResponse:
        await self._accounts.sign_out(caller(context))
        return pb.SignOutResponse()

    async def GetMe(self, request: pb.GetMeRequest, context: grpc.aio.ServicerContext) -> pb.Me:
        return me_message(await self._accounts.me(caller(context)))

    async def ListMyOrders(
        self, request: pb.ListMyOrdersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMyOrdersResponse:
        found, token = await self._accounts.my_orders(
            caller(context), request.page_size, request.page_token
        )
        return pb.ListMyOrdersResponse(
            orders=[my_order_message(o) for o in found], next_page_token=token
        )

    async def RequestPasswordReset(
        self, request: pb.RequestPasswordResetRequest, context: grpc.aio.ServicerContext
    ) -> pb.RequestPasswordResetResponse:
        await self._accounts.request_reset(caller(context), request.email)
        return pb.RequestPasswordResetResponse()

    async def ResetPassword(
        self, request: pb.ResetPasswordRequest, context: grpc.aio.ServicerContext
    ) -> pb.SessionResponse:
        signed_in = await self._accounts.reset_password(
            caller(context), request.token, request.new_password
        )
        return session_message(signed_in)

    async def ChangePassword(
        self, request: pb.ChangePasswordRequest, context: grpc.aio.ServicerContext
    ) -> pb.ChangePasswordResponse:
        ended = await self._accounts.change_password(
            caller(context), request.current_password, request.new_password
        )
        return pb.ChangePasswordResponse(sessions_ended=ended)
