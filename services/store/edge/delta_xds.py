"""Delta xDS (incremental ADS): what each Envoy is sent is tracked per stream and per resource,
so a change reaches only the Envoys that subscribed to the resource it touches.

Generic over resource types: a `Provider` per type URL answers "what is resource X now" and
tells the streams watching X when it changes. Today: the route configuration (RDS) and on-demand
virtual hosts (VHDS); on-demand TLS certificates (SDS) can be one more provider.

Protocol points (xDS delta protocol, as Envoy 1.40 behaves):
- A name Envoy subscribes to is always answered, even when nothing changed: an on-demand
  request (VHDS) is paused in Envoy until the answer arrives.
- A resource that does not exist is answered as the name, repeated in `aliases`, with no body
  (Envoy's "unresolved alias"; a bare name without body is refused as a type-URL mismatch).
  Listing a never-sent name in `removed_resources` does not wake the paused request.
- A resource Envoy holds and that goes away is sent in `removed_resources`.
- Envoy never drops on-demand resources by itself, nor forgets a name answered "not found", so a
  provider may bound how long and how many a stream holds: the oldest are removed by the
  control plane (Envoy asks again on the next request for that host).
- On a new stream Envoy lists what it holds (`initial_resource_versions`); resources whose
  version is unchanged are not sent again (versions are content hashes, stable across
  control-plane restarts)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from envoy.service.discovery.v3 import discovery_pb2
from google.protobuf import any_pb2

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resource:
    """One resource as it is now: `body` None means it does not exist."""

    name: str
    version: str = ""
    body: any_pb2.Any | None = None


class Watcher(Protocol):
    def changed(self, type_url: str, names: Iterable[str]) -> None:
        """The resources `names` (which this watcher subscribed to) may have changed."""


class Provider(Protocol):
    type_url: str
    #: How long a stream keeps an on-demand resource before the control plane removes it
    #: (None: for as long as the stream lives), and how many it keeps at most.
    hold_seconds: float | None
    max_held: int | None
    #: How long a stream keeps a name answered "not found" before the control plane removes it
    #: (Envoy remembers absent names and does not ask again until told to forget them).
    absent_hold_seconds: float | None

    async def resolve(self, names: list[str]) -> dict[str, Resource]:
        """The current state of each name (names the provider cannot serve may be left out:
        they are answered as absent)."""
        ...

    def watch(self, watcher: Watcher, names: Iterable[str]) -> None: ...

    def unwatch(self, watcher: Watcher, names: Iterable[str]) -> None: ...


@dataclass
class DeltaStats:
    """Counters across streams (tests and the benchmark read them)."""

    streams: int = 0
    responses: int = 0
    resources_sent: int = 0
    removals_sent: int = 0
    nacks: int = 0


_NOTHING = ""  # version of "Envoy holds nothing for this name" (never sent / sent absent)


class _Subscriptions:
    """One type's names on one stream: the version Envoy holds of each, and when it was sent."""

    def __init__(self) -> None:
        self.held: OrderedDict[str, str] = OrderedDict()
        self.sent_at: dict[str, float] = {}
        # name → forced: answer even if the version Envoy holds is current
        self.pending: dict[str, bool] = {}


class DeltaStream:
    def __init__(self, providers: Mapping[str, Provider], stats: DeltaStats) -> None:
        self._providers = providers
        self._stats = stats
        self._types: dict[str, _Subscriptions] = {}
        self._wake = asyncio.Event()
        self._closed = False
        self.node = "?"

    # Watcher
    def changed(self, type_url: str, names: Iterable[str]) -> None:
        subs = self._types.get(type_url)
        if subs is None:
            return
        for name in names:
            if name in subs.held:
                subs.pending.setdefault(name, False)
        self._wake.set()

    def held(self, type_url: str) -> list[str]:
        """Names of `type_url` this stream's Envoy holds a resource for (tests, stats)."""
        subs = self._types.get(type_url)
        return [n for n, v in subs.held.items() if v != _NOTHING] if subs else []

    async def read(self, requests: AsyncIterator[discovery_pb2.DeltaDiscoveryRequest]) -> None:
        try:
            async for request in requests:
                self._on_request(request)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.info("delta xDS stream from %s closed", self.node, exc_info=True)
        finally:
            self._closed = True
            self._wake.set()

    def _on_request(self, request: discovery_pb2.DeltaDiscoveryRequest) -> None:
        if request.node.id:
            self.node = request.node.id
        provider = self._providers.get(request.type_url)
        if provider is None:
            log.warning("ignoring delta xDS request for %s from %s", request.type_url, self.node)
            return
        if request.HasField("error_detail"):
            self._stats.nacks += 1
            log.error(
                "Envoy %s rejected %s (nonce %s): %s",
                self.node,
                request.type_url,
                request.response_nonce,
                request.error_detail.message,
            )
        subs = self._types.get(request.type_url)
        if subs is None:
            subs = self._types[request.type_url] = _Subscriptions()
            # A new stream: Envoy says what it already holds (after a control-plane restart).
            for name, version in request.initial_resource_versions.items():
                subs.held[name] = version
                subs.sent_at[name] = time.monotonic()
                subs.pending.setdefault(name, False)
            provider.watch(self, request.initial_resource_versions.keys())
        added = []
        for name in request.resource_names_subscribe:
            if name not in subs.held:
                subs.held[name] = _NOTHING
                added.append(name)
            # Held with a version Envoy told us at stream start: only send if it differs.
            subs.pending[name] = name not in request.initial_resource_versions
        provider.watch(self, added)
        removed = [n for n in request.resource_names_unsubscribe if n in subs.held]
        for name in removed:
            subs.held.pop(name, None)
            subs.sent_at.pop(name, None)
            subs.pending.pop(name, None)
        provider.unwatch(self, removed)
        if subs.pending:
            self._wake.set()

    async def responses(self) -> AsyncIterator[discovery_pb2.DeltaDiscoveryResponse]:
        sweeper = asyncio.create_task(self._sweep())
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                if self._closed:
                    return
                for type_url, subs in list(self._types.items()):
                    try:
                        response = await self._answer(type_url, subs)
                    except Exception:
                        # The provider could not read (e.g. the database restarting): keep the
                        # names pending and try again shortly; the stream stays up and Envoy
                        # keeps serving what it holds.
                        log.warning(
                            "delta xDS: resolving %s failed; retrying", type_url, exc_info=True
                        )
                        self._retry_soon()
                        continue
                    if response is not None:
                        yield response
                    evicted = self._over_limit(type_url, subs)
                    if evicted is not None:
                        yield evicted
                for type_url, names in self._expired().items():
                    evicted = self._evict(type_url, self._types[type_url], names)
                    if evicted is not None:
                        yield evicted
        finally:
            sweeper.cancel()
            for type_url, subs in self._types.items():
                self._providers[type_url].unwatch(self, list(subs.held))

    def _retry_soon(self, delay: float = 0.2) -> None:
        asyncio.get_running_loop().call_later(delay, self._wake.set)

    async def _answer(
        self, type_url: str, subs: _Subscriptions
    ) -> discovery_pb2.DeltaDiscoveryResponse | None:
        if not subs.pending:
            return None
        pending = dict(subs.pending)
        names = [n for n in pending if n in subs.held]
        current = await self._providers[type_url].resolve(names)
        # Resolved (a failure above leaves them all pending); names that arrived meanwhile, or
        # were asked for again (forced), stay pending for the next round.
        for name, forced in pending.items():
            if subs.pending.get(name) == forced:
                del subs.pending[name]
        resources, removed = [], []
        now = time.monotonic()
        for name in names:
            if name not in subs.held:  # unsubscribed while resolving
                continue
            resource = current.get(name) or Resource(name)
            holds = subs.held[name]
            if resource.body is None:
                if holds != _NOTHING:
                    removed.append(name)
                    subs.sent_at.pop(name, None)
                elif pending[name]:
                    # "Not found": the name as an alias, with no body (Envoy's convention for an
                    # unresolved alias) ends Envoy's wait (VHDS → 404). Envoy then remembers the
                    # name as absent and does not ask again: the name stays watched (a store
                    # created on that host is pushed) until its absent hold ends and a removal
                    # makes Envoy forget it.
                    resources.append(discovery_pb2.Resource(name=name, aliases=[name]))
                    subs.sent_at[name] = now
                subs.held[name] = _NOTHING
            elif pending[name] or holds != resource.version:
                resources.append(
                    discovery_pb2.Resource(
                        name=name, version=resource.version, resource=resource.body
                    )
                )
                subs.held[name] = resource.version
                subs.sent_at[name] = now
            else:
                continue
            subs.held.move_to_end(name)
        return self._response(type_url, resources, removed)

    def _response(
        self, type_url: str, resources: list[discovery_pb2.Resource], removed: list[str]
    ) -> discovery_pb2.DeltaDiscoveryResponse | None:
        if not resources and not removed:
            return None
        self._stats.responses += 1
        self._stats.resources_sent += len(resources)
        self._stats.removals_sent += len(removed)
        return discovery_pb2.DeltaDiscoveryResponse(
            type_url=type_url,
            nonce=uuid.uuid4().hex,
            resources=resources,
            removed_resources=removed,
        )

    def _over_limit(
        self, type_url: str, subs: _Subscriptions
    ) -> discovery_pb2.DeltaDiscoveryResponse | None:
        limit = self._providers[type_url].max_held
        if limit is None or len(subs.sent_at) <= limit:
            return None
        # Least recently sent first (held keeps send order).
        victims: list[str] = []
        for name in subs.held:
            if len(subs.sent_at) - len(victims) <= limit:
                break
            if name in subs.sent_at:
                victims.append(name)
        return self._evict(type_url, subs, victims)

    def _evict(
        self, type_url: str, subs: _Subscriptions, names: list[str]
    ) -> discovery_pb2.DeltaDiscoveryResponse | None:
        for name in names:
            subs.held.pop(name, None)
            subs.sent_at.pop(name, None)
            subs.pending.pop(name, None)
        self._providers[type_url].unwatch(self, names)
        return self._response(type_url, [], names)

    def _holds(self, provider: Provider) -> list[float]:
        return [h for h in (provider.hold_seconds, provider.absent_hold_seconds) if h]

    async def _sweep(self) -> None:
        """Wakes the stream now and then to remove what was held past its hold time."""
        holds = [h for p in self._providers.values() for h in self._holds(p)]
        if not holds:
            return
        period = max(0.05, min(holds) / 4)
        while True:
            await asyncio.sleep(period)
            self._wake.set()

    def _expired(self) -> dict[str, list[str]]:
        now = time.monotonic()
        out: dict[str, list[str]] = {}
        for type_url, subs in self._types.items():
            provider = self._providers[type_url]
            if not self._holds(provider):
                continue
            hold = provider.hold_seconds or float("inf")
            absent_hold = provider.absent_hold_seconds or float("inf")
            names = [
                n
                for n, at in subs.sent_at.items()
                if now - at > (absent_hold if subs.held.get(n) == _NOTHING else hold)
            ]
            if names:
                out[type_url] = names
        return out


class DeltaAggregatedServer:
    """`DeltaAggregatedResources` for every provider; plugged into the ADS servicer."""

    def __init__(self, providers: Iterable[Provider]) -> None:
        self.providers = {p.type_url: p for p in providers}
        self.stats = DeltaStats()
        self.streams: set[DeltaStream] = set()

    def add(self, provider: Provider) -> None:
        self.providers[provider.type_url] = provider

    async def serve(
        self, requests: AsyncIterator[discovery_pb2.DeltaDiscoveryRequest]
    ) -> AsyncIterator[discovery_pb2.DeltaDiscoveryResponse]:
        stream = DeltaStream(self.providers, self.stats)
        self.stats.streams += 1
        self.streams.add(stream)
        reader = asyncio.create_task(stream.read(requests))
        try:
            async for response in stream.responses():
                yield response
        finally:
            self.streams.discard(stream)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
