"""Envoy ext_authz for the admin and operator APIs.

On a store's host (its virtual host passes its store id as a context extension) the bearer
token must be a token of that store carrying the scope the method declares; a suspended store
(status in the context too) answers reads only; operator credentials and the operator API are
refused there. On the platform host (context `host=platform`) only the operator API passes this
filter, with an operator credential carrying the method's operator scope; store tokens are
refused. Storefront and signup routes skip this filter: they pay no Python hop."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from envoy.config.core.v3 import base_pb2
from envoy.service.auth.v3 import external_auth_pb2, external_auth_pb2_grpc
from envoy.type.v3 import http_status_pb2
from google.rpc import code_pb2, status_pb2

from services.store.edge.json_guard import JsonBodyGuard
from services.store.operators.audit import AuditLog
from services.store.operators.resolver import OperatorResolver
from services.store.operators.rules import OPERATOR_TOKEN_PREFIX, AuditEntry
from services.store.tokens.resolver import TokenResolver
from services.store.tokens.rules import TOKEN_PREFIX

log = logging.getLogger(__name__)

STORE_ID_CONTEXT_KEY = "store_id"
# Set on a suspended store's virtual host: its admin API answers reads only.
STORE_STATUS_CONTEXT_KEY = "store_status"
SUSPENDED = "suspended"
# Set on the platform host's virtual host: only the operator API is checked (and served) there.
HOST_CONTEXT_KEY = "host"
PLATFORM_HOST = "platform"
# gRPC metadata the JSON body guard's ext_authz instance sends (envoy/bootstrap.yaml,
# grpc_service.initial_metadata), so one Check endpoint serves both instances.
CHECK_METADATA_KEY = "x-shop-check"
CHECK_JSON_BODY = "json_body"


def _deny(grpc_code: int, http_code: int, message: str) -> external_auth_pb2.CheckResponse:
    body = json.dumps({"code": grpc_code, "message": message})
    return external_auth_pb2.CheckResponse(
        status=status_pb2.Status(code=grpc_code, message=message),
        denied_response=external_auth_pb2.DeniedHttpResponse(
            status=http_status_pb2.HttpStatus(code=http_code),
            body=body,
            headers=[
                base_pb2.HeaderValueOption(
                    header=base_pb2.HeaderValue(key="content-type", value="application/json")
                )
            ],
        ),
    )


def unauthenticated(message: str) -> external_auth_pb2.CheckResponse:
    return _deny(code_pb2.UNAUTHENTICATED, http_status_pb2.Unauthorized, message)


def invalid_argument(violations: list[tuple[str, str]]) -> external_auth_pb2.CheckResponse:
    message = "; ".join(f"{field}: {why}" for field, why in violations)
    return _deny(code_pb2.INVALID_ARGUMENT, http_status_pb2.BadRequest, message)


def permission_denied(message: str) -> external_auth_pb2.CheckResponse:
    return _deny(code_pb2.PERMISSION_DENIED, http_status_pb2.Forbidden, message)


ALLOW = external_auth_pb2.CheckResponse(
    status=status_pb2.Status(code=code_pb2.OK), ok_response=external_auth_pb2.OkHttpResponse()
)


def bearer_token(authorization: str) -> str | None:
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


@dataclass(frozen=True)
class EdgeAccess:
    """What the API declares, read once from the descriptors (services.store.edge.scopes)."""

    # gRPC path → store-token scope, for every admin method.
    admin_scopes: dict[str, str]
    # gRPC path → operator scope, for every operator method.
    operator_scopes: dict[str, str] = field(default_factory=dict)
    # Admin methods a suspended store still answers.
    admin_reads: frozenset[str] = frozenset()


class AuthorizationServicer(external_auth_pb2_grpc.AuthorizationServicer):
    def __init__(
        self,
        tokens: TokenResolver,
        access: EdgeAccess,
        guard: JsonBodyGuard,
        operators: OperatorResolver | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self._tokens = tokens
        self._access = access
        self._guard = guard
        self._operators = operators
        self._audit = audit

    async def Check(self, request, context):
        http = request.attributes.request.http
        if (CHECK_METADATA_KEY, CHECK_JSON_BODY) in (context.invocation_metadata() or ()):
            found = self._guard.violations(
                http.method, http.path, http.raw_body or http.body.encode()
            )
            return invalid_argument(found) if found else ALLOW
        extensions = request.attributes.context_extensions
        if extensions.get(HOST_CONTEXT_KEY) == PLATFORM_HOST:
            return await self._check_operator(http)
        return await self._check_admin(http, extensions)

    async def _check_admin(self, http, context_extensions) -> external_auth_pb2.CheckResponse:
        # After the transcoder, REST requests carry their gRPC path too.
        path = http.path.split("?", 1)[0]
        store_id = context_extensions.get(STORE_ID_CONTEXT_KEY, "")
        if not store_id.isdigit():
            # The route reached ext_authz without a per-store virtual host: configuration error.
            log.error("ext_authz check without store context for %s", path)
            return permission_denied("admin APIs are served on a store's own host")
        if path in self._access.operator_scopes:
            return permission_denied("the operator API is served on the platform host only")
        token = bearer_token(http.headers.get("authorization", ""))
        if token is None:
            return unauthenticated(
                "missing access token: send 'Authorization: Bearer <token>' with a token of this"
                " store"
            )
        if token.startswith(OPERATOR_TOKEN_PREFIX):
            return permission_denied(
                "operator credentials cannot call a store's admin API; use a token of this store"
            )
        grant = await self._tokens.resolve(token)
        if grant is None:
            return unauthenticated("access token is invalid or revoked")
        if str(grant.store_id) != store_id:
            return permission_denied("access token does not belong to this store")
        scope = self._access.admin_scopes.get(path)
        if not scope:
            return permission_denied(f"{path} is not an admin API method")
        if scope not in grant.scopes:
            return permission_denied(f"access token lacks the '{scope}' scope needed for {path}")
        suspended = context_extensions.get(STORE_STATUS_CONTEXT_KEY) == SUSPENDED
        if suspended and path not in self._access.admin_reads:
            return permission_denied(
                "this store is suspended by the platform: its admin API is read-only until it is"
                " reinstated"
            )
        return ALLOW

    async def _check_operator(self, http) -> external_auth_pb2.CheckResponse:
        path = http.path.split("?", 1)[0]
        scope = self._access.operator_scopes.get(path)
        if not scope or self._operators is None:
            return permission_denied(f"{path} is not an operator API method")
        token = bearer_token(http.headers.get("authorization", ""))
        if token is None:
            return unauthenticated(
                "missing operator credential: send 'Authorization: Bearer shpop_…'"
            )
        if token.startswith(TOKEN_PREFIX):
            return permission_denied(
                "store access tokens cannot call the operator API; use an operator credential"
            )
        operator = await self._operators.resolve(token)
        if operator is None:
            return unauthenticated("operator credential is invalid, expired or revoked")
        if scope not in operator.scopes:
            message = f"the operator credential lacks the '{scope}' scope needed for {path}"
            if self._audit is not None:
                # A known operator reaching past its scopes is worth a row; anonymous probes
                # are only logged (they would let anyone fill the trail).
                await self._audit.record(
                    AuditEntry(
                        actor=operator.name,
                        operator_id=operator.id,
                        action=path.rsplit("/", 1)[-1],
                        request={"path": path},
                        outcome=f"PERMISSION_DENIED: {message}",
                    )
                )
            return permission_denied(message)
        return ALLOW
