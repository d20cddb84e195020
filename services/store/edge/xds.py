"""Aggregated Discovery Service. Delta (incremental) streams are served by delta_xds.py; this
module keeps the state-of-the-world flavour, routes only: Envoy subscribes to the `storefront`
RouteConfiguration and receives the latest one whenever it changes.

One push in flight per stream: after sending, the stream waits for Envoy's ACK or NACK before
sending again, and then sends whatever is newest, so a burst of changes costs one push."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable

from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2
from google.protobuf import any_pb2

from services.store.edge.delta_xds import DeltaAggregatedServer

log = logging.getLogger(__name__)

ROUTE_TYPE_URL = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"


class RouteSnapshot:
    """The latest serialized RouteConfiguration and its version, shared by all streams."""

    def __init__(self) -> None:
        self.version = 0
        self.payload = b""
        self._changed = asyncio.Condition()
        # Highest version some Envoy has acknowledged (for readiness checks and tests).
        self.acked_version = 0
        # Called after each publish (the delta server's route provider).
        self.on_publish: list[Callable[[], None]] = []

    async def publish(self, payload: bytes) -> int:
        async with self._changed:
            self.version += 1
            self.payload = payload
            self._changed.notify_all()
            for callback in self.on_publish:
                callback()
            return self.version

    async def wait_newer(self, version: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.version > version)


class AggregatedDiscoveryServicer(ads_pb2_grpc.AggregatedDiscoveryServiceServicer):
    """Both ADS flavours: delta (what the bootstrap uses: on-demand virtual hosts) and state of
    the world (Envoys still configured with api_type GRPC get the whole route configuration)."""

    def __init__(self, snapshot: RouteSnapshot, delta: DeltaAggregatedServer) -> None:
        self._snapshot = snapshot
        self._delta = delta

    async def StreamAggregatedResources(self, request_iterator, context):
        stream = _Stream(self._snapshot)
        reader = asyncio.create_task(stream.read(request_iterator))
        try:
            async for response in stream.responses():
                yield response
        finally:
            reader.cancel()

    async def DeltaAggregatedResources(self, request_iterator, context):
        async for response in self._delta.serve(request_iterator):
            yield response


class _Stream:
    def __init__(self, snapshot: RouteSnapshot) -> None:
        self._snapshot = snapshot
        self._wake = asyncio.Event()
        self._subscribed = False
        self._closed = False
        self._awaiting_nonce: str | None = None
        self._sent_version = 0
        self._node = "?"

    async def read(self, request_iterator) -> None:
        try:
            async for request in request_iterator:
                self._on_request(request)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.info("xDS stream from %s closed", self._node, exc_info=True)
        finally:
            self._closed = True
            self._wake.set()

    def _on_request(self, request: discovery_pb2.DiscoveryRequest) -> None:
        if request.node.id:
            self._node = request.node.id
        if request.type_url != ROUTE_TYPE_URL:
            log.warning("ignoring xDS request for %s from %s", request.type_url, self._node)
            return
        if not request.response_nonce:
            # First request on the stream (or Envoy re-subscribing): send the current state.
            self._subscribed = True
            self._awaiting_nonce = None
            self._sent_version = 0
        elif request.response_nonce == self._awaiting_nonce:
            self._awaiting_nonce = None
            if request.HasField("error_detail"):
                log.error(
                    "Envoy %s rejected routes version %s: %s",
                    self._node,
                    self._sent_version,
                    request.error_detail.message,
                )
            else:
                self._snapshot.acked_version = max(
                    self._snapshot.acked_version, int(request.version_info or 0)
                )
        else:
            return  # stale nonce: superseded by a newer response, ignore per the xDS protocol
        self._wake.set()

    async def responses(self):
        watcher = asyncio.create_task(self._watch_snapshot())
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                if self._closed:
                    return
                snapshot = self._snapshot
                if (
                    self._subscribed
                    and self._awaiting_nonce is None
                    and snapshot.version > self._sent_version
                ):
                    version = snapshot.version
                    nonce = uuid.uuid4().hex
                    self._awaiting_nonce = nonce
                    self._sent_version = version
                    yield discovery_pb2.DiscoveryResponse(
                        version_info=str(version),
                        type_url=ROUTE_TYPE_URL,
                        nonce=nonce,
                        resources=[any_pb2.Any(type_url=ROUTE_TYPE_URL, value=snapshot.payload)],
                    )
        finally:
            watcher.cancel()

    async def _watch_snapshot(self) -> None:
        seen = 0
        while True:
            await self._snapshot.wait_newer(seen)
            seen = self._snapshot.version
            self._wake.set()
