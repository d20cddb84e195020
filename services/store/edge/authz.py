"""Envoy ext_authz for the admin APIs: the bearer token must belong to the store whose host
the request came in on (the virtual host passes its store id as a context extension) and carry
the scope the method declares. Storefront routes disable this filter: they pay no Python hop."""

from __future__ import annotations

import json
import logging

from envoy.config.core.v3 import base_pb2
from envoy.service.auth.v3 import external_auth_pb2, external_auth_pb2_grpc
from envoy.type.v3 import http_status_pb2
from google.rpc import code_pb2, status_pb2

from services.store.edge.json_guard import JsonBodyGuard
from services.store.tokens.resolver import TokenResolver

log = logging.getLogger(__name__)

STORE_ID_CONTEXT_KEY = "store_id"
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


def invalid_argument(fields: list[str]) -> external_auth_pb2.CheckResponse:
    message = "; ".join(f"{f}: unknown field" for f in fields)
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


class AuthorizationServicer(external_auth_pb2_grpc.AuthorizationServicer):
    def __init__(
        self, tokens: TokenResolver, method_scopes: dict[str, str], guard: JsonBodyGuard
    ) -> None:
        self._tokens = tokens
        self._method_scopes = method_scopes
        self._guard = guard

    async def Check(self, request, context):
        http = request.attributes.request.http
        if (CHECK_METADATA_KEY, CHECK_JSON_BODY) in (context.invocation_metadata() or ()):
            unknown = self._guard.unknown_fields(
                http.method, http.path, http.raw_body or http.body.encode()
            )
            return invalid_argument(unknown) if unknown else ALLOW
        return await self._check_admin(http, request.attributes.context_extensions)

    async def _check_admin(self, http, context_extensions) -> external_auth_pb2.CheckResponse:
        # After the transcoder, REST requests carry their gRPC path too.
        path = http.path.split("?", 1)[0]
        store_id = context_extensions.get(STORE_ID_CONTEXT_KEY, "")
        if not store_id.isdigit():
            # The route reached ext_authz without a per-store virtual host: configuration error.
            log.error("ext_authz check without store context for %s", path)
            return permission_denied("admin APIs are served on a store's own host")
        token = bearer_token(http.headers.get("authorization", ""))
        if token is None:
            return unauthenticated(
                "missing access token: send 'Authorization: Bearer <token>' with a token of this"
                " store"
            )
        grant = await self._tokens.resolve(token)
        if grant is None:
            return unauthenticated("access token is invalid or revoked")
        if str(grant.store_id) != store_id:
            return permission_denied("access token does not belong to this store")
        scope = self._method_scopes.get(path)
        if not scope:
            return permission_denied(f"{path} is not an admin API method")
        if scope not in grant.scopes:
            return permission_denied(f"access token lacks the '{scope}' scope needed for {path}")
        return ALLOW
