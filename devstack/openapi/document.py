"""OpenAPI 3.1 documents from the protos' google.api.http rules: one per audience (storefront,
admin, platform), each listing exactly the REST routes Envoy transcodes for that audience."""

from __future__ import annotations

import re
from typing import Any

from google.api import annotations_pb2
from shop.options.v1 import access_pb2

from devstack.openapi.descriptors import Index
from devstack.openapi.schemas import F, Schema, SchemaBuilder
from services.store.edge.api import (
    ADMIN_SERVICES,
    OPERATOR_SERVICES,
    PLATFORM_SERVICES,
    STOREFRONT_SERVICES,
)

AUDIENCES: dict[str, tuple[str, ...]] = {
    "storefront": tuple(STOREFRONT_SERVICES),
    "admin": tuple(ADMIN_SERVICES),
    "platform": (*PLATFORM_SERVICES, *OPERATOR_SERVICES),
}
TITLES = {
    "storefront": "Storefront API",
    "admin": "Merchant admin API",
    "platform": "Platform API",
}
INTRO = {
    "storefront": (
        "What shoppers' apps call on a store's own host (`<subdomain>.<platform domain>` or a "
        "verified custom domain): catalog reads, carts, checkout, shop information and "
        "storefront accounts. No token; the Host picks the store."
    ),
    "admin": (
        "The merchant's API on the store's own host. Every call sends "
        "`Authorization: Bearer <access token>` of that store; each operation names the "
        "scope the token needs (403 names a missing one)."
    ),
    "platform": (
        "The platform host (`api.<platform domain>`): signup, this documentation, Stripe's "
        "webhook endpoints and the operator API (operator credentials `shpop_…` only)."
    ),
}

# Envoy's mapping of gRPC status codes to HTTP (convert_grpc_status).
HTTP_OF_GRPC = {
    3: 400,  # INVALID_ARGUMENT
    9: 400,  # FAILED_PRECONDITION
    11: 400,  # OUT_OF_RANGE
    16: 401,  # UNAUTHENTICATED
    7: 403,  # PERMISSION_DENIED
    5: 404,  # NOT_FOUND
    6: 409,  # ALREADY_EXISTS
    10: 409,  # ABORTED
    8: 429,  # RESOURCE_EXHAUSTED
    14: 503,  # UNAVAILABLE
}
_ERRORS = {
    "400": "INVALID_ARGUMENT (`details` holds a google.rpc.BadRequest naming each field), "
    "FAILED_PRECONDITION or OUT_OF_RANGE",
    "404": "NOT_FOUND, or an unknown host",
    "409": "ALREADY_EXISTS or ABORTED (a conflicting or concurrent change)",
    "429": "RESOURCE_EXHAUSTED: the store's request rate limit (retry after `x-ratelimit-reset` "
    "seconds) or an account throttle (`details` holds a google.rpc.RetryInfo)",
    "503": "UNAVAILABLE: retry later (or the store is suspended)",
}
_ADMIN_ERRORS = {
    "401": "UNAUTHENTICATED: no token, or not a token of this store",
    "403": "PERMISSION_DENIED: the token lacks the operation's scope (named in the message)",
}
# Storefront accounts: calls made signed in (the session token from SignIn or ActivateAccount).
SESSION_METHODS = {
    "shop.checkout.v1.CustomerAccounts.SignOut": True,
    "shop.checkout.v1.CustomerAccounts.GetMe": True,
    "shop.checkout.v1.CustomerAccounts.ListMyOrders": True,
    "shop.checkout.v1.CustomerAccounts.ChangePassword": True,
    # Optional: a signed-in checkout takes the account's email and default address.
    "shop.checkout.v1.Checkout.Checkout": False,
}
IDEMPOTENT_METHODS = {"shop.checkout.v1.Checkout.Checkout"}
STORE_HOST_AUDIENCES = {"storefront", "admin"}
RATE_LIMIT_HEADERS: dict[str, Schema] = {
    "x-ratelimit-limit": {
        "description": "the store's bucket size (requests), by plan",
        "schema": {"type": "string"},
    },
    "x-ratelimit-remaining": {
        "description": "requests left in the store's bucket",
        "schema": {"type": "string"},
    },
    "x-ratelimit-reset": {
        "description": "seconds until the bucket refills",
        "schema": {"type": "string"},
    },
}

_STATUS: Schema = {
    "type": "object",
    "description": "google.rpc.Status: every error answer of the REST API has this shape.",
    "properties": {
        "code": {
            "type": "integer",
            "format": "int32",
            "description": "the gRPC status code, e.g. 3 for INVALID_ARGUMENT",
        },
        "message": {"type": "string", "description": "what went wrong, for a person"},
        "details": {
            "type": "array",
            "items": {
                "anyOf": [
                    {"$ref": "#/components/schemas/google.rpc.BadRequest.Detail"},
                    {"$ref": "#/components/schemas/google.rpc.RetryInfo.Detail"},
                    {"$ref": "#/components/schemas/google.protobuf.Any"},
                ]
            },
        },
    },
    "required": ["code", "message"],
}


def _typed(type_url: str, extra: Schema) -> Schema:
    return {
        "type": "object",
        "properties": {"@type": {"const": type_url}, **extra},
        "required": ["@type"],
    }


_ERROR_COMPONENTS: dict[str, Schema] = {
    "google.rpc.Status": _STATUS,
    "google.rpc.BadRequest.Detail": _typed(
        "type.googleapis.com/google.rpc.BadRequest",
        {
            "field_violations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "field": {
                            "type": "string",
                            "description": "the field's path, e.g. variants[0].sku",
                        },
                        "description": {"type": "string"},
                    },
                },
            }
        },
    ),
    "google.rpc.RetryInfo.Detail": _typed(
        "type.googleapis.com/google.rpc.RetryInfo",
        {"retry_delay": {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?s$"}},
    ),
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
        "additionalProperties": True,
    },
}
_HTTP_BODY = ".google.api.HttpBody"
_VAR = re.compile(r"\{([^}=]+)(?:=[^}]*)?\}")


def _http_rule(method) -> tuple[str, str, Any] | None:
    options = method.options
    if not options.HasExtension(annotations_pb2.http):
        return None
    rule = options.Extensions[annotations_pb2.http]
    verb = rule.WhichOneof("pattern")
    if verb is None or verb == "custom":
        return None
    return verb, getattr(rule, verb), rule


def routes(index: Index, services: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(HTTP method, path template, gRPC method) of every google.api.http rule."""
    found = []
    for name in services:
        for method in index.services[name].proto.method:
            parsed = _http_rule(method)
            if parsed:
                verb, path, rule = parsed
                found.append((verb, _VAR.sub(r"{\1}", path), f"{name}.{method.name}"))
                for extra in rule.additional_bindings:
                    v = extra.WhichOneof("pattern")
                    found.append((v, _VAR.sub(r"{\1}", getattr(extra, v)), f"{name}.{method.name}"))
    return found


def _summary(comment: str, fallback: str) -> str:
    if not comment:
        return fallback
    # The first sentence, whole (a clause cut at ";" reads as a broken sentence).
    first = re.split(r"(?<=\.)\s", comment, maxsplit=1)[0]
    return first if len(first) <= 120 else fallback


class _Builder:
    def __init__(self, index: Index, audience: str) -> None:
        self.index = index
        self.audience = audience
        self.schemas = SchemaBuilder(index)

    def query_parameters(
        self, type_name: str, skip: set[str], prefix: str = "", seen: tuple[str, ...] = ()
    ) -> list[Schema]:
        """Every leaf field not bound by the path, as the transcoder reads query strings:
        nested fields by dotted path, repeated scalars as repeated parameters."""
        params = []
        for f, comment in self.schemas.fields(type_name):
            name = f"{prefix}{f.name}"
            if name in skip:
                continue
            if self.schemas.is_message(f):
                if f.label != F.LABEL_REPEATED and f.type_name not in seen:
                    params += self.query_parameters(
                        f.type_name, skip, f"{name}.", (*seen, type_name)
                    )
                continue
            schema = self.schemas.field_schema(f)
            param: Schema = {"name": name, "in": "query", "required": False, "schema": schema}
            if comment:
                param["description"] = comment
            if schema.get("type") == "array":
                param["style"], param["explode"] = "form", True
            params.append(param)
        return params

    def operation(self, service: str, method, verb: str, path: str, rule) -> Schema:
        full = f"{service}.{method.name}"
        comment = self.index.services[service].method_comments.get(method.name, "")
        path_fields = _VAR.findall(path)
        op: Schema = {
            "operationId": f"{service.rsplit('.', 1)[1]}_{method.name}",
            "tags": [service.rsplit(".", 1)[1]],
            "summary": _summary(comment, method.name),
            "description": comment or method.name,
            "x-grpc-method": f"/{service}/{method.name}",
        }
        by_name = {f.name: (f, c) for f, c in self.schemas.fields(method.input_type)}
        params: list[Schema] = []
        for name in path_fields:
            f, c = by_name[name.split(".")[0]]
            params.append(
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": {**self.schemas.field_schema(f), "minLength": 1}
                    if f.type == F.TYPE_STRING
                    else self.schemas.field_schema(f),
                    **({"description": c} if c else {}),
                }
            )
        if rule.body == "*":
            op["requestBody"] = self._json_body(method.input_type, frozenset(path_fields))
        elif rule.body:
            f, c = by_name[rule.body]
            if f.type_name == _HTTP_BODY:
                op["requestBody"] = {
                    "required": True,
                    "description": c or "the raw request body",
                    "content": {"application/json": {"schema": {}}},
                }
            else:
                op["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": self.schemas.field_schema(f)}},
                }
            params += self.query_parameters(method.input_type, {*path_fields, rule.body})
        else:
            params += self.query_parameters(method.input_type, set(path_fields))
        params += self.header_parameters(full)
        if params:
            op["parameters"] = params
        op["responses"] = self.responses(method.output_type)
        security = self.security(full, method)
        if security is not None:
            op["security"] = security
        if method.options.HasExtension(access_pb2.required_scope):
            scope = method.options.Extensions[access_pb2.required_scope]
            op["x-required-scope"] = scope
            op["description"] += f"\n\nNeeds an access token with the `{scope}` scope."
        if method.options.HasExtension(access_pb2.operator_scope):
            scope = method.options.Extensions[access_pb2.operator_scope]
            op["x-required-scope"] = scope
            op["description"] += f"\n\nNeeds an operator credential with the `{scope}` scope."
        return op

    def _json_body(self, type_name: str, without: frozenset[str]) -> Schema:
        if without:
            name = f"{type_name.lstrip('.')}.Body"
            schema = self.schemas.message_schema(type_name, without)
            self.schemas.components[name] = schema
            body = {"$ref": f"#/components/schemas/{name}"}
        else:
            body = self.schemas.type_schema(type_name)
        return {"required": True, "content": {"application/json": {"schema": body}}}

    def header_parameters(self, full: str) -> list[Schema]:
        params = []
        if full in IDEMPOTENT_METHODS:
            params.append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": True,
                    "description": "Your key for this checkout (1 to 255 characters). The "
                    "same key with the same request replays the first outcome; with another "
                    "request it is refused; while the first is still running, 409.",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                }
            )
        return params

    def security(self, full: str, method) -> list[Schema] | None:
        if method.options.HasExtension(access_pb2.required_scope):
            return [{"adminToken": [method.options.Extensions[access_pb2.required_scope]]}]
        if method.options.HasExtension(access_pb2.operator_scope):
            return [{"operatorCredential": [method.options.Extensions[access_pb2.operator_scope]]}]
        if full in SESSION_METHODS:
            return (
                [{"shopperSession": []}] if SESSION_METHODS[full] else [{}, {"shopperSession": []}]
            )
        return None

    def responses(self, output_type: str) -> Schema:
        if output_type == _HTTP_BODY:
            ok: Schema = {
                "description": "OK",
                "content": {"*/*": {"schema": {"type": "string"}}},
            }
        else:
            ok = {
                "description": "OK",
                "content": {"application/json": {"schema": self.schemas.type_schema(output_type)}},
            }
        if self.audience in STORE_HOST_AUDIENCES:
            ok["headers"] = {k: {"$ref": f"#/components/headers/{k}"} for k in RATE_LIMIT_HEADERS}
        out: Schema = {"200": ok}
        errors = {**_ERRORS, **(_ADMIN_ERRORS if self.audience != "storefront" else {})}
        for code in sorted(errors):
            out[code] = {"$ref": f"#/components/responses/Error{code}"}
        out["default"] = {"$ref": "#/components/responses/Error"}
        return out

    def document(self) -> Schema:
        paths: dict[str, dict[str, Schema]] = {}
        tags = []
        for service in AUDIENCES[self.audience]:
            entry = self.index.services[service]
            tag = {"name": service.rsplit(".", 1)[1]}
            if entry.comment:
                tag["description"] = entry.comment
            tags.append(tag)
            for method in entry.proto.method:
                parsed = _http_rule(method)
                if parsed is None:
                    continue
                verb, template, rule = parsed
                bindings = [(verb, template, rule)] + [
                    (b.WhichOneof("pattern"), getattr(b, b.WhichOneof("pattern")), b)
                    for b in rule.additional_bindings
                ]
                for v, t, r in bindings:
                    path = _VAR.sub(r"{\1}", t)
                    paths.setdefault(path, {})[v] = self.operation(service, method, v, path, r)
        components: Schema = {
            "schemas": {**dict(sorted(self.schemas.components.items())), **_ERROR_COMPONENTS},
            "responses": self.error_responses(),
            "securitySchemes": {
                "adminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A store's access token (shpat_…); each operation names the "
                    "scope it needs.",
                },
                "operatorCredential": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An operator credential (shpop_…), platform host only.",
                },
                "shopperSession": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "x-shopper-session",
                    "description": "A storefront session token from SignIn or ActivateAccount.",
                },
            },
        }
        if self.audience in STORE_HOST_AUDIENCES:
            components["headers"] = RATE_LIMIT_HEADERS
        return {
            "openapi": "3.1.0",
            "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
            "info": {
                "title": TITLES[self.audience],
                "version": "v1",
                "description": INTRO[self.audience]
                + "\n\nGenerated from the protos by `make proto`; the gRPC API is the same.",
            },
            "servers": [
                {
                    "url": "{origin}",
                    "variables": {
                        "origin": {
                            "default": "http://api.myshop.localhost:8080"
                            if self.audience == "platform"
                            else "http://demo.myshop.localhost:8080",
                            "description": "the platform host"
                            if self.audience == "platform"
                            else "the store's host",
                        }
                    },
                }
            ],
            "tags": tags,
            "paths": dict(sorted(paths.items())),
            "components": components,
        }

    def error_responses(self) -> Schema:
        error = {"$ref": "#/components/schemas/google.rpc.Status"}
        out: Schema = {}
        codes = {**_ERRORS, **_ADMIN_ERRORS}
        for code, description in sorted(codes.items()):
            response: Schema = {
                "description": description,
                "content": {"application/json": {"schema": error}},
            }
            if code == "429" and self.audience in STORE_HOST_AUDIENCES:
                response["headers"] = {
                    k: {"$ref": f"#/components/headers/{k}"} for k in RATE_LIMIT_HEADERS
                }
            out[f"Error{code}"] = response
        out["Error"] = {
            "description": "any other gRPC status, mapped to HTTP by Envoy",
            "content": {"application/json": {"schema": error}},
        }
        return out


def build(index: Index, audience: str) -> Schema:
    return _Builder(index, audience).document()
