"""An httpx client whose connections go only to addresses the SSRF policy vetted.

httpcore opens each connection through a network backend's `connect_tcp(host, port)`, then
starts TLS with `server_hostname` = the URL's host. The backend here resolves the host once,
vets every answer (`services.common.ssrf.vetted_addresses`) and connects to a vetted address,
so a name that answers a public address to one look-up and 127.0.0.1 to the next cannot steer
the connection: there is no second look-up. The URL is untouched, so the Host header, TLS SNI
and certificate verification all keep the hostname."""

from __future__ import annotations

import ssl
import typing

import httpcore
import httpx

from services.common.ssrf import Refused, Resolver, SsrfPolicy, system_resolve, vetted_addresses

DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class TargetRefused(httpx.TransportError):
    """The host resolved to an address the policy refuses: nothing was connected to."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _RefusedConnect(httpcore.ConnectError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's default backend, but every TCP connection goes to a vetted address."""

    def __init__(self, policy: SsrfPolicy, resolve: Resolver = system_resolve) -> None:
        self._policy = policy
        self._resolve = resolve
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await vetted_addresses(host, port, self._policy, self._resolve)
        except Refused as exc:
            raise _RefusedConnect(exc.reason) from None
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise _RefusedConnect("unix sockets are not webhook targets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool that uses PinnedBackend.

    httpx 0.28 (pinned in pyproject) has no argument for httpcore's network backend, so this
    builds the pool itself, with the same settings httpx would use; everything else (request
    and response conversion, exception mapping) is httpx's own."""

    def __init__(
        self,
        policy: SsrfPolicy,
        resolve: Resolver = system_resolve,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits = DEFAULT_LIMITS,
    ) -> None:
        super().__init__(verify=verify, limits=limits, trust_env=False)
        context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(policy, resolve),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except httpx.ConnectError as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, _RefusedConnect):
                raise TargetRefused(cause.reason) from None
            raise


def pinned_client(
    policy: SsrfPolicy,
    *,
    timeout: float,
    resolve: Resolver = system_resolve,
    verify: ssl.SSLContext | bool = True,
) -> httpx.AsyncClient:
    """A client for outbound webhooks: pinned connections, no redirects, no proxy from the
    environment (a proxy would resolve the name itself)."""
    return httpx.AsyncClient(
        transport=PinnedTransport(policy, resolve, verify),
        follow_redirects=False,
        timeout=timeout,
        trust_env=False,
    )
