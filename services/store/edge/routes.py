"""Envoy's route configuration: one virtual host per store, matched on its exact hosts.

Each store's VirtualHost is serialized once and cached; the RouteConfiguration is assembled by
concatenating those bytes (a repeated field is just its elements back to back on the wire), so
a change to one store costs one small serialization even with 100k stores loaded."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from envoy.config.core.v3 import base_pb2, config_source_pb2
from envoy.config.core.v3 import extension_pb2 as core_pb2
from envoy.config.route.v3 import route_components_pb2 as rc
from envoy.config.route.v3 import route_pb2
from envoy.extensions.filters.http.ext_authz.v3 import ext_authz_pb2
from envoy.extensions.router.cluster_specifiers.lua.v3 import lua_pb2
from google.protobuf import any_pb2, duration_pb2

from services.common.tenancy import STORE_ID_HEADER
from services.store.edge.api import (
    ADMIN_SERVICES,
    OPERATOR_SERVICES,
    PLATFORM_SERVICES,
    REFLECTION_SERVICES,
    STOREFRONT_SERVICES,
)
from services.store.edge.authz import (
    HOST_CONTEXT_KEY,
    PLATFORM_HOST,
    STORE_ID_CONTEXT_KEY,
    STORE_STATUS_CONTEXT_KEY,
    SUSPENDED,
)
from services.store.edge.rate_limits import DEFAULT_PLAN, store_rate_limit

log = logging.getLogger(__name__)

ROUTE_CONFIG_NAME = "storefront"
EXT_AUTHZ_FILTER = "envoy.filters.http.ext_authz"
_UPSTREAM_TIMEOUT = duration_pb2.Duration(seconds=15)


@dataclass(frozen=True)
class StoreRoute:
    store_id: int
    hosts: tuple[str, ...]
    plan: str = DEFAULT_PLAN
    # Suspended by the platform: storefront unavailable, admin API read-only.
    suspended: bool = False


def store_hosts(subdomain: str, custom_domains: list[str], platform_domain: str) -> tuple[str, ...]:
    return (f"{subdomain}.{platform_domain}", *custom_domains)


def _packed(message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def _prefix_route(prefix: str, cluster: str) -> rc.Route:
    return rc.Route(
        match=rc.RouteMatch(prefix=prefix),
        route=rc.RouteAction(cluster=cluster, timeout=_UPSTREAM_TIMEOUT),
    )


def package_clusters(services: dict[str, str]) -> dict[str, str]:
    """API package path prefix ("/shop.catalog.") → upstream cluster."""
    clusters: dict[str, str] = {}
    for service, cluster in services.items():
        package = "/" + ".".join(service.split(".")[:2]) + "."
        if clusters.setdefault(package, cluster) != cluster:
            raise ValueError(f"{package} spans clusters {clusters[package]} and {cluster}")
    return dict(sorted(clusters.items()))


_PACKAGE_CLUSTERS = package_clusters(
    {**ADMIN_SERVICES, **STOREFRONT_SERVICES, **dict.fromkeys(REFLECTION_SERVICES, "store")}
)
CLUSTER_PLUGIN = "by_package"
DEFAULT_CLUSTER = "store"


def cluster_plugin() -> rc.ClusterSpecifierPlugin:
    """Picks the upstream cluster from the gRPC path's package, once for the whole route
    configuration. Every store's virtual host then needs a single route: routes are what Envoy's
    memory and rebuild time grow with at 100k virtual hosts (7 routes per store cost ~35 KB of
    Envoy memory each, 4 plain ones ~17 KB, 1 ~8 KB). Which calls need a token is decided in the
    listener's ext_authz matcher (envoy/bootstrap.yaml), by exact service, not by route."""
    table = ", ".join(f'["{p}"] = "{c}"' for p, c in _PACKAGE_CLUSTERS.items())
    source = f"""local clusters = {{{table}}}
function envoy_on_route(route_handle)
  local path = route_handle:headers():get(":path") or ""
  return clusters[string.match(path, "^/[^./]+%.[^./]+%.") or ""] or "{DEFAULT_CLUSTER}"
end
"""
    return rc.ClusterSpecifierPlugin(
        extension=core_pb2.TypedExtensionConfig(
            name=CLUSTER_PLUGIN,
            typed_config=_packed(
                lua_pb2.LuaConfig(
                    source_code=base_pb2.DataSource(inline_string=source),
                    default_cluster=DEFAULT_CLUSTER,
                )
            ),
        )
    )


# One route for everything on a store's host. REST requests match it before the transcoder
# rewrites them to gRPC paths too, which the JSON body guard needs (ext_authz checks nothing
# without a route); unknown REST paths never get further (reject_unknown_method).
_STORE_ROUTES = [
    rc.Route(
        match=rc.RouteMatch(prefix="/"),
        route=rc.RouteAction(cluster_specifier_plugin=CLUSTER_PLUGIN, timeout=_UPSTREAM_TIMEOUT),
    )
]
# A suspended store: every storefront service (catalog, shop, cart, checkout) is answered by
# Envoy itself, after the transcoder has turned REST paths into gRPC ones: a REST call (the
# transcoder leaves the REST path in x-envoy-original-path) gets 503 with the JSON error shape
# of every other REST error, a gRPC call gets UNAVAILABLE with the message. Everything else
# (the admin API, read-only by ext_authz) routes as usual.
STORE_UNAVAILABLE = "this store is unavailable: it has been suspended by the platform"
_REST_CALL = rc.HeaderMatcher(name="x-envoy-original-path", present_match=True)
_JSON = base_pb2.HeaderValueOption(
    header=base_pb2.HeaderValue(key="content-type", value="application/json"),
    append_action=base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD,
)


def _unavailable(prefix: str, rest: bool) -> rc.Route:
    body = json.dumps({"code": 14, "message": STORE_UNAVAILABLE}) if rest else STORE_UNAVAILABLE
    return rc.Route(
        match=rc.RouteMatch(prefix=prefix, headers=[_REST_CALL] if rest else []),
        direct_response=rc.DirectResponseAction(
            status=503, body=base_pb2.DataSource(inline_string=body)
        ),
        response_headers_to_add=[_JSON] if rest else [],
    )


_SUSPENDED_ROUTES = [
    *(
        _unavailable(f"/{service}/", rest)
        for service in STOREFRONT_SERVICES
        for rest in (True, False)
    ),
    *_STORE_ROUTES,
]
_REST_ROUTE = _prefix_route("/v1/", "store")
# The platform host serves signup, the operator API (behind ext_authz, operator credentials
# only) and reflection: exact services, no store admin API.
_PLATFORM_ROUTES = [
    _REST_ROUTE,
    *(
        _prefix_route(f"/{s}/", c)
        for s, c in {
            **PLATFORM_SERVICES,
            **OPERATOR_SERVICES,
            **dict.fromkeys(REFLECTION_SERVICES, "store"),
        }.items()
    ),
]


def _trusted_store_header(value: str | None) -> dict:
    added = []
    if value is not None:
        added.append(
            base_pb2.HeaderValueOption(
                header=base_pb2.HeaderValue(key=STORE_ID_HEADER, value=value),
                append_action=base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD,
            )
        )
    # Removal and overwrite together: whatever the client sent (once, twice) never survives.
    return {"request_headers_to_remove": [STORE_ID_HEADER], "request_headers_to_add": added}


def _ext_authz_context(context: dict[str, str]) -> any_pb2.Any:
    return _packed(
        ext_authz_pb2.ExtAuthzPerRoute(
            check_settings=ext_authz_pb2.CheckSettings(context_extensions=context)
        )
    )


def store_virtual_host(route: StoreRoute) -> rc.VirtualHost:
    store_id = str(route.store_id)
    context = {STORE_ID_CONTEXT_KEY: store_id}
    if route.suspended:
        context[STORE_STATUS_CONTEXT_KEY] = SUSPENDED
    vhost = rc.VirtualHost(
        name=f"store-{store_id}",
        domains=list(route.hosts),
        routes=_SUSPENDED_ROUTES if route.suspended else _STORE_ROUTES,
        rate_limits=[store_rate_limit(route.store_id, route.plan)],
        **_trusted_store_header(store_id),
    )
    vhost.typed_per_filter_config[EXT_AUTHZ_FILTER].CopyFrom(_ext_authz_context(context))
    return vhost


def platform_virtual_host(platform_domain: str) -> rc.VirtualHost:
    vhost = rc.VirtualHost(
        name="platform",
        domains=[f"api.{platform_domain}"],
        routes=_PLATFORM_ROUTES,
        **_trusted_store_header(None),
    )
    # Tells the authorizer this is the platform host: operator credentials, not store tokens.
    vhost.typed_per_filter_config[EXT_AUTHZ_FILTER].CopyFrom(
        _ext_authz_context({HOST_CONTEXT_KEY: PLATFORM_HOST})
    )
    return vhost


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


_VHOSTS_FIELD = route_pb2.RouteConfiguration.DESCRIPTOR.fields_by_name["virtual_hosts"].number
_VHOST_TAG = _varint((_VHOSTS_FIELD << 3) | 2)  # wire type 2: length-delimited


def _vhost_entry(vhost: rc.VirtualHost) -> bytes:
    body = vhost.SerializeToString(deterministic=True)
    return _VHOST_TAG + _varint(len(body)) + body


class RouteTable:
    """Current routes of every store, with each virtual host pre-serialized. Refuses a host
    already owned by another store: one duplicate domain would make Envoy reject (NACK) the
    whole configuration and freeze every store's routes."""

    def __init__(self, platform_domain: str) -> None:
        self._platform = _vhost_entry(platform_virtual_host(platform_domain))
        self._routes: dict[int, StoreRoute] = {}
        self._entries: dict[int, bytes] = {}
        self._host_owner: dict[str, int] = {platform_virtual_host(platform_domain).domains[0]: 0}

    def __len__(self) -> int:
        return len(self._routes)

    def store_ids(self) -> list[int]:
        return list(self._routes)

    def hosts_of(self, store_id: int) -> tuple[str, ...]:
        route = self._routes.get(store_id)
        return route.hosts if route else ()

    def upsert(self, route: StoreRoute) -> bool:
        """Returns whether anything changed."""
        accepted = []
        for host in route.hosts:
            owner = self._host_owner.get(host)
            if owner is None or owner == route.store_id:
                accepted.append(host)
            else:
                log.error(
                    "host %s of store %s already routes to %s; not routed",
                    host,
                    route.store_id,
                    owner,
                )
        route = StoreRoute(route.store_id, tuple(accepted), route.plan, route.suspended)
        if self._routes.get(route.store_id) == route:
            return False
        self.remove(route.store_id)
        if not route.hosts:
            return True
        for host in route.hosts:
            self._host_owner[host] = route.store_id
        self._routes[route.store_id] = route
        self._entries[route.store_id] = _vhost_entry(store_virtual_host(route))
        return True

    def remove(self, store_id: int) -> bool:
        route = self._routes.pop(store_id, None)
        self._entries.pop(store_id, None)
        if route is None:
            return False
        for host in route.hosts:
            if self._host_owner.get(host) == store_id:
                del self._host_owner[host]
        return True

    def serialize(self) -> bytes:
        """A RouteConfiguration, as bytes, with the platform host and every store."""
        head = route_pb2.RouteConfiguration(
            name=ROUTE_CONFIG_NAME, cluster_specifier_plugins=[cluster_plugin()]
        ).SerializeToString()
        return b"".join([head, self._platform, *self._entries.values()])


def on_demand_route_configuration(platform_domain: str) -> bytes:
    """The route configuration when virtual hosts come on demand: only what every request needs
    (the platform host and the cluster plugin); each store's host is fetched over VHDS
    (services/store/edge/vhds.py) the first time an Envoy sees a request for it."""
    config = route_pb2.RouteConfiguration(
        name=ROUTE_CONFIG_NAME,
        cluster_specifier_plugins=[cluster_plugin()],
        virtual_hosts=[platform_virtual_host(platform_domain)],
        vhds=route_pb2.Vhds(
            config_source=config_source_pb2.ConfigSource(
                resource_api_version=config_source_pb2.ApiVersion.V3,
                ads=config_source_pb2.AggregatedConfigSource(),
                # VHDS opens with a request naming no host; Envoy counts it as an initial fetch
                # and is not ready until it times out (15 s by default; 0 would wait forever),
                # though there is nothing to fetch before a request names a host.
                initial_fetch_timeout=duration_pb2.Duration(nanos=1_000_000),
            )
        ),
    )
    return config.SerializeToString(deterministic=True)
