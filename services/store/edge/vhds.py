"""What the delta xDS server serves: the route configuration (RDS) and, on demand, one virtual
host per host Envoy has seen a request for (VHDS).

Envoy asks for `storefront/<host>` the first time a request for <host> arrives (the on_demand
filter pauses that request until the answer). The control plane looks the host up (one indexed
probe), answers that host's virtual host, and from then on sends that Envoy the host's changes;
an unknown host is answered "not found" (Envoy then routes nothing: 404) and remembered as
absent for a short, bounded time so a burst of requests for it costs one look-up. Memory here and
in Envoy follows the hosts Envoys have asked for, not the stores in the database."""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from google.protobuf import any_pb2

from services.store.edge.delta_xds import Resource, Watcher
from services.store.edge.routes import ROUTE_CONFIG_NAME, StoreRoute, store_virtual_host
from services.store.edge.xds import ROUTE_TYPE_URL, RouteSnapshot

log = logging.getLogger(__name__)

VHOST_TYPE_URL = "type.googleapis.com/envoy.config.route.v3.VirtualHost"
VHOST_PREFIX = f"{ROUTE_CONFIG_NAME}/"


def _version(payload: bytes) -> str:
    # Content hashes: the same resource has the same version after a control-plane restart, so
    # Envoy's reconnect (which lists what it holds) costs no resend of unchanged hosts.
    return hashlib.blake2b(payload, digest_size=8).hexdigest()


class RouteConfigProvider:
    """The `storefront` RouteConfiguration, whatever RouteSnapshot holds (on demand: the
    platform host, the cluster plugin and the VHDS source; full: every store)."""

    type_url = ROUTE_TYPE_URL
    hold_seconds: float | None = None
    max_held: int | None = None
    absent_hold_seconds: float | None = None

    def __init__(self, snapshot: RouteSnapshot) -> None:
        self._snapshot = snapshot
        self._watchers: set[Watcher] = set()
        self._resource: Resource | None = None
        self._resource_of = -1
        snapshot.on_publish.append(self._published)

    def _published(self) -> None:
        for watcher in list(self._watchers):
            watcher.changed(self.type_url, [ROUTE_CONFIG_NAME])

    def _current(self) -> Resource | None:
        if self._snapshot.version == 0:
            return None
        if self._resource_of != self._snapshot.version:
            payload = self._snapshot.payload
            self._resource = Resource(
                ROUTE_CONFIG_NAME,
                _version(payload),
                any_pb2.Any(type_url=ROUTE_TYPE_URL, value=payload),
            )
            self._resource_of = self._snapshot.version
        return self._resource

    async def resolve(self, names: list[str]) -> dict[str, Resource]:
        current = self._current()
        return {n: current for n in names if n == ROUTE_CONFIG_NAME and current is not None}

    def watch(self, watcher: Watcher, names: Iterable[str]) -> None:
        self._watchers.add(watcher)

    def unwatch(self, watcher: Watcher, names: Iterable[str]) -> None:
        if ROUTE_CONFIG_NAME in names:
            self._watchers.discard(watcher)


class HostLookup(Protocol):
    async def routes_by_host(self, hosts: set[str]) -> dict[str, StoreRoute]:
        """The route of each host that belongs to a store (closed stores have none)."""
        ...


@dataclass(frozen=True)
class _Entry:
    route: StoreRoute
    resource: Resource


@dataclass
class VhdsStats:
    lookups: int = 0
    hosts_looked_up: int = 0
    absent_answers: int = 0
    changes_applied: int = 0
    pushes: int = 0


class VirtualHostProvider:
    """On-demand virtual hosts: one resource per host, `storefront/<host>`, whose virtual host
    matches exactly that host (two hosts of one store are two small virtual hosts sharing the
    store's rate-limit bucket, never one virtual host under two names, which Envoy would refuse
    as a duplicate domain once both were asked for)."""

    type_url = VHOST_TYPE_URL

    def __init__(
        self,
        lookup: HostLookup,
        *,
        hold_seconds: float | None = None,
        max_held: int | None = None,
        absent_ttl: float = 30.0,
        absent_max: int = 100_000,
    ) -> None:
        self._lookup = lookup
        self.hold_seconds = hold_seconds
        self.max_held = max_held
        self._absent_ttl = absent_ttl
        # Envoy 1.40 never asks again for a name it was told is absent or removed (measured:
        # the next request is a 404 at once, with no request to the control plane). So a name
        # stays watched for as long as the stream lives: a store created on a host an Envoy
        # had been told is unknown is pushed to it, and a time-based removal would leave that
        # host unroutable on that Envoy until it reconnects.
        self.absent_hold_seconds: float | None = None
        self._absent_max = absent_max
        # host → {watcher → names it subscribed under}
        self._watchers: dict[str, dict[Watcher, set[str]]] = {}
        # Hosts some Envoy holds (or is being answered), kept current by apply_changes.
        self._hosts: dict[str, _Entry] = {}
        self._store_hosts: dict[int, set[str]] = {}
        # Unknown hosts recently asked for → when that answer goes stale.
        self._absent: OrderedDict[str, float] = OrderedDict()
        self._epoch = 0
        self.stats = VhdsStats()

    @staticmethod
    def host_of(name: str) -> str | None:
        if not name.startswith(VHOST_PREFIX):
            return None
        host = name[len(VHOST_PREFIX) :].lower().rstrip(".")
        return host or None

    def held_hosts(self) -> int:
        return len(self._hosts)

    def watched_by(self, host: str) -> int:
        return len(self._watchers.get(host, {}))

    def _entry(self, host: str, route: StoreRoute) -> _Entry:
        vhost = store_virtual_host(route)
        vhost.name = VHOST_PREFIX + host
        vhost.domains[:] = [host]
        payload = vhost.SerializeToString(deterministic=True)
        return _Entry(
            route,
            Resource(
                VHOST_PREFIX + host,
                _version(payload),
                any_pb2.Any(type_url=VHOST_TYPE_URL, value=payload),
            ),
        )

    def _as(self, name: str, entry: _Entry) -> Resource:
        if name == entry.resource.name:
            return entry.resource
        return Resource(name, entry.resource.version, entry.resource.body)

    def _keep(self, host: str, entry: _Entry) -> None:
        self._hosts[host] = entry
        self._store_hosts.setdefault(entry.route.store_id, set()).add(host)

    def _drop(self, host: str) -> None:
        entry = self._hosts.pop(host, None)
        if entry is None:
            return
        hosts = self._store_hosts.get(entry.route.store_id)
        if hosts is not None:
            hosts.discard(host)
            if not hosts:
                del self._store_hosts[entry.route.store_id]

    def _absent_fresh(self, host: str, now: float) -> bool:
        until = self._absent.get(host)
        if until is None:
            return False
        if until < now:
            del self._absent[host]
            return False
        return True

    def _remember_absent(self, host: str, now: float) -> None:
        self._absent[host] = now + self._absent_ttl
        self._absent.move_to_end(host)
        while len(self._absent) > self._absent_max:
            self._absent.popitem(last=False)

    async def resolve(self, names: list[str]) -> dict[str, Resource]:
        out: dict[str, Resource] = {}
        now = time.monotonic()
        misses: dict[str, list[str]] = {}
        for name in names:
            host = self.host_of(name)
            if host is None:
                continue
            entry = self._hosts.get(host)
            if entry is not None:
                out[name] = self._as(name, entry)
            elif self._absent_fresh(host, now):
                self.stats.absent_answers += 1
            else:
                misses.setdefault(host, []).append(name)
        if not misses:
            return out
        for _ in range(3):
            epoch = self._epoch
            self.stats.lookups += 1
            self.stats.hosts_looked_up += len(misses)
            found = await self._lookup.routes_by_host(set(misses))
            if epoch == self._epoch:
                break
            # A change was applied while we read: read again, or we might cache what it replaced.
        now = time.monotonic()
        for host, host_names in misses.items():
            route = found.get(host)
            if route is None:
                self._remember_absent(host, now)
                continue
            entry = self._hosts.get(host) or self._entry(host, route)
            if host in self._watchers:
                self._keep(host, entry)
            for name in host_names:
                out[name] = self._as(name, entry)
        return out

    def watch(self, watcher: Watcher, names: Iterable[str]) -> None:
        for name in names:
            host = self.host_of(name)
            if host is not None:
                self._watchers.setdefault(host, {}).setdefault(watcher, set()).add(name)

    def unwatch(self, watcher: Watcher, names: Iterable[str]) -> None:
        for name in names:
            host = self.host_of(name)
            watchers = self._watchers.get(host) if host is not None else None
            if watchers is None or watcher not in watchers:
                continue
            watchers[watcher].discard(name)
            if not watchers[watcher]:
                del watchers[watcher]
            if not watchers:
                del self._watchers[host]  # type: ignore[arg-type]
                self._drop(host)  # type: ignore[arg-type]

    def apply_changes(self, routes: Mapping[int, StoreRoute | None]) -> int:
        """The current routes of stores that changed (None: the store has no routes any more,
        e.g. closed). Tells only the streams holding an affected host; returns how many hosts
        were pushed."""
        self._epoch += 1
        self.stats.changes_applied += len(routes)
        touched: set[str] = set()
        for store_id, route in routes.items():
            new_hosts = set(route.hosts) if route is not None else set()
            for host in new_hosts:
                # A host that now exists is no longer "absent", however recently it was asked.
                self._absent.pop(host, None)
            for host in list(self._store_hosts.get(store_id, ())):
                if host not in new_hosts:
                    self._drop(host)
                    touched.add(host)
            for host in new_hosts:
                if host in self._watchers:
                    if route is None:
                        continue
                    current = self._hosts.get(host)
                    if current is None or current.route != route:
                        self._drop(host)
                        self._keep(host, self._entry(host, route))
                        touched.add(host)
        pushed = 0
        for host in touched:
            for watcher, names in list(self._watchers.get(host, {}).items()):
                watcher.changed(self.type_url, names)
                pushed += 1
        self.stats.pushes += pushed
        return pushed
