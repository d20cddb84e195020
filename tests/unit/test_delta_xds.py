"""The delta xDS stream's rules, against the VHDS provider with an in-memory host look-up: what
is answered, what is pushed to whom, and what a reconnecting Envoy is not sent again."""

from __future__ import annotations

import asyncio

from envoy.config.core.v3 import base_pb2
from envoy.config.route.v3 import route_components_pb2 as rc
from envoy.service.discovery.v3 import discovery_pb2

from services.store.edge.delta_xds import DeltaAggregatedServer
from services.store.edge.routes import StoreRoute
from services.store.edge.vhds import VHOST_PREFIX, VHOST_TYPE_URL, VirtualHostProvider


class Hosts:
    def __init__(self) -> None:
        self.routes: dict[str, StoreRoute] = {}
        self.lookups = 0

    async def routes_by_host(self, hosts: set[str]) -> dict[str, StoreRoute]:
        self.lookups += 1
        return {h: self.routes[h] for h in hosts if h in self.routes}


class Envoy:
    """One delta stream driven like Envoy drives it."""

    def __init__(self, server: DeltaAggregatedServer, node: str) -> None:
        self.requests: asyncio.Queue = asyncio.Queue()
        self.responses: asyncio.Queue = asyncio.Queue()
        self.node = node
        self._task = asyncio.create_task(self._run(server))

    async def _requests(self):
        while True:
            request = await self.requests.get()
            if request is None:
                return
            yield request

    async def _run(self, server: DeltaAggregatedServer) -> None:
        async for response in server.serve(self._requests()):
            await self.responses.put(response)

    def ask(self, *hosts: str, initial: dict[str, str] | None = None) -> None:
        self.requests.put_nowait(
            discovery_pb2.DeltaDiscoveryRequest(
                node=base_pb2.Node(id=self.node),
                type_url=VHOST_TYPE_URL,
                resource_names_subscribe=[VHOST_PREFIX + h for h in hosts],
                initial_resource_versions=initial or {},
            )
        )

    async def next(self) -> discovery_pb2.DeltaDiscoveryResponse:
        return await asyncio.wait_for(self.responses.get(), 2)

    async def nothing_more(self) -> bool:
        await asyncio.sleep(0.05)
        return self.responses.empty()

    async def close(self) -> None:
        self.requests.put_nowait(None)
        await asyncio.wait_for(self._task, 2)


def route(store_id: int, *hosts: str, plan: str = "basic") -> StoreRoute:
    return StoreRoute(store_id, hosts, plan)


async def test_known_host_is_its_own_virtual_host_unknown_is_an_unresolved_alias():
    hosts = Hosts()
    hosts.routes["a.shop.test"] = route(1, "a.shop.test", "a.example.com")
    server = DeltaAggregatedServer([VirtualHostProvider(hosts)])
    envoy = Envoy(server, "e1")
    envoy.ask("a.shop.test", "nobody.shop.test")
    response = await envoy.next()
    by_name = {r.name: r for r in response.resources}
    known = by_name[VHOST_PREFIX + "a.shop.test"]
    vhost = rc.VirtualHost.FromString(known.resource.value)
    assert list(vhost.domains) == ["a.shop.test"] and vhost.name == known.name
    unknown = by_name[VHOST_PREFIX + "nobody.shop.test"]
    assert not unknown.HasField("resource") and list(unknown.aliases) == [unknown.name]
    assert not response.removed_resources
    await envoy.close()


async def test_a_change_goes_only_to_the_envoy_holding_the_host():
    hosts = Hosts()
    hosts.routes["a.shop.test"] = route(1, "a.shop.test")
    hosts.routes["b.shop.test"] = route(2, "b.shop.test")
    provider = VirtualHostProvider(hosts)
    server = DeltaAggregatedServer([provider])
    first, second = Envoy(server, "e1"), Envoy(server, "e2")
    first.ask("a.shop.test")
    second.ask("b.shop.test")
    await first.next(), await second.next()

    hosts.routes["a.shop.test"] = route(1, "a.shop.test", plan="plus")
    assert provider.apply_changes({1: hosts.routes["a.shop.test"]}) == 1
    pushed = await first.next()
    assert [r.name for r in pushed.resources] == [VHOST_PREFIX + "a.shop.test"]
    assert await second.nothing_more()

    # Removed: the Envoy holding it is sent the removal.
    del hosts.routes["a.shop.test"]
    provider.apply_changes({1: None})
    removal = await first.next()
    assert list(removal.removed_resources) == [VHOST_PREFIX + "a.shop.test"]
    assert await second.nothing_more()
    await first.close(), await second.close()


async def test_a_host_answered_unknown_is_pushed_when_it_appears():
    hosts = Hosts()
    provider = VirtualHostProvider(hosts)
    server = DeltaAggregatedServer([provider])
    envoy = Envoy(server, "e1")
    envoy.ask("new.shop.test")
    assert not (await envoy.next()).resources[0].HasField("resource")
    hosts.routes["new.shop.test"] = route(9, "new.shop.test")
    provider.apply_changes({9: hosts.routes["new.shop.test"]})
    pushed = await envoy.next()
    assert pushed.resources[0].HasField("resource")
    await envoy.close()


async def test_reconnect_with_current_versions_sends_nothing_again():
    hosts = Hosts()
    hosts.routes["a.shop.test"] = route(1, "a.shop.test")
    server = DeltaAggregatedServer([VirtualHostProvider(hosts)])
    envoy = Envoy(server, "e1")
    envoy.ask("a.shop.test")
    held = (await envoy.next()).resources[0]
    await envoy.close()

    again = Envoy(server, "e1")  # a restarted control plane would see the same request
    again.ask("a.shop.test", initial={held.name: held.version})
    assert await again.nothing_more()
    await again.close()


async def test_unknown_host_is_looked_up_once_for_a_burst():
    hosts = Hosts()
    server = DeltaAggregatedServer([VirtualHostProvider(hosts)])
    first, second = Envoy(server, "e1"), Envoy(server, "e2")
    first.ask("probe.shop.test")
    await first.next()
    second.ask("probe.shop.test")
    await second.next()
    assert hosts.lookups == 1
    await first.close(), await second.close()
