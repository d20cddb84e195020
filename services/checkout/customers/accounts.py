"""Shoppers' accounts: registration confirmed by email, sign-in to a Redis session, the
shopper's own data and orders, password reset and change.

Nothing here tells whether an email has an account. Register and RequestPasswordReset always
answer OK and do the same work either way (a password hash for Register, a token in Redis, an
email in the outbox: an activation link for a new account, a "you already have an account"
notice with a reset link for an existing one; a reset link, or for RequestPasswordReset with
no account nothing but the lookup). SignIn always verifies one argon2 hash (a dummy one when
the email has no account) and fails with one message. Every guess counts against the
throttle, per (store, email) and per client address, before it is tried."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from services.checkout.customers import orders_repository as customer_orders
from services.checkout.customers import repository as customers
from services.checkout.customers.page_rules import decode, encode, page_size
from services.checkout.customers.password_rules import candidate, check_new_password
from services.checkout.customers.passwords import PasswordHasher
from services.checkout.customers.rules import (
    MAX_NAME,
    Customer,
    NewCustomer,
    check_text,
    email_key,
    validate_email,
)
from services.checkout.customers.session_rules import (
    ACTIVATION,
    RESET,
    Session,
    throttle_keys,
)
from services.checkout.customers.sessions import EmailTokens, SessionStore
from services.checkout.customers.settings import AccountSettings
from services.checkout.customers.throttle import Throttle
from services.checkout.orders.rules import Order
from services.common import outbox
from services.common.db import tenant_transaction
from services.common.errors import InvalidArgument, Unauthenticated, Validator
from services.common.tenancy import require_store_id

WRONG_CREDENTIALS = "the email or password is not right"
NO_SESSION = "sign in first: send the session token in the x-shopper-session header"
BAD_SESSION = "the session is not valid here (signed out, expired, or from another store)"
BAD_TOKEN = "is not valid (expired, already used, or never issued); ask for a new email"
DEFAULT_PAGE = 20
MAX_PAGE = 100


@dataclass(frozen=True)
class Caller:
    """Who calls: the client address the edge saw (throttling) and the session they sent."""

    client: str
    session_token: str | None = None


@dataclass(frozen=True)
class SignedIn:
    token: str
    expires_at: datetime
    customer: Customer


class Accounts:
    def __init__(
        self,
        pool: asyncpg.Pool,
        sessions: SessionStore,
        tokens: EmailTokens,
        throttle: Throttle,
        hasher: PasswordHasher,
        settings: AccountSettings,
        platform_domain: str,
    ) -> None:
        self._pool = pool
        self._sessions = sessions
        self._tokens = tokens
        self._throttle = throttle
        self._hasher = hasher
        self._settings = settings
        self._domain = platform_domain

    # -- registration and activation ---------------------------------------------------------

    async def register(
        self, caller: Caller, email: str, password: str, name: str, accepts_marketing: bool
    ) -> None:
        store_id = require_store_id()
        email = validate_email(email)
        v = Validator()
        check_text(v, name, "name", MAX_NAME)
        v.raise_if_any()
        normal = check_new_password(password, "password", self._settings.password_min_length)
        await self._throttle.admit(throttle_keys("mail", store_id, email_key(email), caller.client))
        hashed = await self._hasher.hash(normal)
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            account = await customers.account_by_email(conn, store_id, email)
            if account is not None and account[1] is not None:
                event = await self._mail(
                    conn, store_id, "account_exists", email, RESET, self._reset_data(*account)
                )
            else:
                data = {
                    "email": email,
                    "password_hash": hashed,
                    "name": name.strip() or None,
                    "marketing": "subscribed" if accepts_marketing else None,
                }
                event = await self._mail(conn, store_id, "activation", email, ACTIVATION, data)
            await outbox.record(conn, event)

    async def activate(self, caller: Caller, token: str) -> SignedIn:
        store_id = require_store_id()
        data = await self._redeem(caller, store_id, ACTIVATION, token, "token")
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            done = await customers.activate(
                conn,
                store_id,
                NewCustomer(data["email"], data.get("name")),
                data["password_hash"],
                data.get("marketing"),
            )
            if done is None:  # activated through another token meanwhile
                raise InvalidArgument.field("token", BAD_TOKEN)
            customer_id = done[0]
        return await self._open_session(store_id, customer_id)

    # -- sessions ----------------------------------------------------------------------------

    async def sign_in(self, caller: Caller, email: str, password: str) -> SignedIn:
        store_id = require_store_id()
        email = validate_email(email)
        attempt = await self._throttle.admit(
            throttle_keys("signin", store_id, email_key(email), caller.client)
        )
        async with tenant_transaction(self._pool, store_id=store_id, readonly=True) as conn:
            account = await customers.account_by_email(conn, store_id, email)
        stored = account[1] if account else None
        offered = candidate(password)
        if not await self._hasher.verify(stored, offered) or account is None:
            raise Unauthenticated(WRONG_CREDENTIALS)
        await self._throttle.forgive(attempt)
        if stored is not None and offered is not None and self._hasher.needs_rehash(stored):
            await self._store_password(store_id, account[0], offered)
        return await self._open_session(store_id, account[0])

    async def sign_out(self, caller: Caller) -> None:
        session = await self._session(caller)
        await self._sessions.end(session)

    async def me(self, caller: Caller) -> Customer:
        return (await self._signed_in(caller))[1]

    async def shopper(self, session_token: str) -> Customer:
        """The signed-in customer of a session token (the checkout's defaults)."""
        return await self.me(Caller("", session_token))

    async def my_orders(
        self, caller: Caller, requested_size: int, page_token: str
    ) -> tuple[list[Order], str]:
        size = page_size(requested_size, DEFAULT_PAGE, MAX_PAGE)
        session, customer = await self._signed_in(caller)
        criteria = {"customer": str(customer.id)}
        after = decode(page_token, "orders", criteria) if page_token else None
        async with tenant_transaction(self._pool, store_id=session.store_id, readonly=True) as conn:
            found = await customer_orders.orders_of(
                conn,
                session.store_id,
                customer.id,
                size + 1,
                after,
            )
        token = ""
        if len(found) > size:
            found = found[:size]
            token = encode("orders", criteria, found[-1].created_at, found[-1].id)
        return found, token

    # -- passwords ---------------------------------------------------------------------------

    async def request_reset(self, caller: Caller, email: str) -> None:
        store_id = require_store_id()
        email = validate_email(email)
        await self._throttle.admit(throttle_keys("mail", store_id, email_key(email), caller.client))
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            account = await customers.account_by_email(conn, store_id, email)
            if account is None or account[1] is None:
                return
            event = await self._mail(
                conn, store_id, "password_reset", email, RESET, self._reset_data(*account)
            )
            await outbox.record(conn, event)

    async def reset_password(self, caller: Caller, token: str, new_password: str) -> SignedIn:
        store_id = require_store_id()
        normal = check_new_password(
            new_password, "new_password", self._settings.password_min_length
        )
        data = await self._redeem(caller, store_id, RESET, token, "token")
        customer_id = uuid.UUID(data["customer_id"])
        hashed = await self._hasher.hash(normal)
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            current = await customers.password_hash(conn, store_id, customer_id)
            # A token is issued for the password as it was: a change since voids it.
            if current is None or current[-16:] != data["stamp"]:
                raise InvalidArgument.field("token", BAD_TOKEN)
            await customers.set_password(conn, store_id, customer_id, hashed)
        await self._sessions.end_all(store_id, str(customer_id))
        return await self._open_session(store_id, customer_id)

    async def change_password(self, caller: Caller, current: str, new_password: str) -> int:
        """Ends every other session of the account; how many."""
        session, customer = await self._signed_in(caller)
        normal = check_new_password(
            new_password, "new_password", self._settings.password_min_length
        )
        store_id = session.store_id
        attempt = await self._throttle.admit(
            throttle_keys("signin", store_id, email_key(customer.email or ""), caller.client)
        )
        async with tenant_transaction(self._pool, store_id=store_id, readonly=True) as conn:
            stored = await customers.password_hash(conn, store_id, customer.id)
        if not await self._hasher.verify(stored, candidate(current)):
            raise InvalidArgument.field("current_password", "is not right")
        await self._throttle.forgive(attempt)
        await self._store_password(store_id, customer.id, normal)
        return await self._sessions.end_all(store_id, str(customer.id), keep=session)

    # -- helpers -----------------------------------------------------------------------------

    async def _store_password(self, store_id: int, customer_id: uuid.UUID, normal: str) -> None:
        hashed = await self._hasher.hash(normal)
        async with tenant_transaction(self._pool, store_id=store_id) as conn:
            await customers.set_password(conn, store_id, customer_id, hashed)

    async def _open_session(self, store_id: int, customer_id: uuid.UUID) -> SignedIn:
        token = await self._sessions.create(store_id, str(customer_id))
        async with tenant_transaction(self._pool, store_id=store_id, readonly=True) as conn:
            customer = await customers.get(conn, store_id, customer_id)
        expires = datetime.now(UTC) + timedelta(seconds=self._sessions.ttl)
        return SignedIn(token, expires, customer)

    async def _session(self, caller: Caller) -> Session:
        if not caller.session_token:
            raise Unauthenticated(NO_SESSION)
        session = await self._sessions.resolve(require_store_id(), caller.session_token)
        if session is None:
            raise Unauthenticated(BAD_SESSION)
        return session

    async def _signed_in(self, caller: Caller) -> tuple[Session, Customer]:
        session = await self._session(caller)
        async with tenant_transaction(self._pool, store_id=session.store_id, readonly=True) as conn:
            row = await customers.get_or_none(conn, session.store_id, session.customer_id)
        if row is None or row.erased or not row.has_account:
            await self._sessions.end(session)
            raise Unauthenticated(BAD_SESSION)
        return session, row

    async def _redeem(
        self, caller: Caller, store_id: int, kind: str, token: str, field: str
    ) -> dict[str, Any]:
        attempt = await self._throttle.admit(throttle_keys("token", store_id, None, caller.client))
        data = await self._tokens.redeem(store_id, kind, token.strip())
        if data is None:
            raise InvalidArgument.field(field, BAD_TOKEN)
        await self._throttle.forgive(attempt)
        return data

    @staticmethod
    def _reset_data(customer_id: uuid.UUID, stored: str | None) -> dict[str, Any]:
        return {"customer_id": str(customer_id), "stamp": (stored or "")[-16:]}

    async def _mail(
        self,
        conn: asyncpg.Connection,
        store_id: int,
        action: str,
        email: str,
        kind: str,
        data: dict[str, Any],
    ) -> outbox.Event:
        """The account email's event, with a fresh single-use token of `kind` in it."""
        ttl = (
            self._settings.activation_token_ttl_seconds
            if kind == ACTIVATION
            else self._settings.reset_token_ttl_seconds
        )
        token = await self._tokens.issue(store_id, kind, data, ttl)
        _name, subdomain = await customers.store_mail_facts(conn, store_id)
        path = "account/activate" if kind == ACTIVATION else "account/reset"
        return outbox.customer_event(
            action,
            {
                "email": email,
                "token": token,
                "url": f"https://{subdomain}.{self._domain}/{path}?token={token}",
                "expires_in_minutes": ttl // 60,
            },
            f"customer-{action}:{uuid.uuid4()}",
        )
