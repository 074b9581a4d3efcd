"""The whole chain in one process: simulator → origin hub (its relay's tap is the NATS
link) → NATS → two edge hubs → the official ``massive`` client on one and a raw client on
the other."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import httpx
from massive import WebSocketClient
from massive.websocket.models import EquityTrade
from websockets.asyncio.client import connect

from tests.link.conftest import KEY
from tests.sim.test_official_client import run_until
from ticktape.hub.relay import Hub, SessionFactory
from ticktape.hub.rest import RestRelay
from ticktape.link.connect import NatsOptions
from ticktape.link.edge import EdgeLink
from ticktape.link.origin import OriginLink
from ticktape.sim.server import Simulator

SEED = "/v2/aggs/ticker/AAPL/range/1/minute/2024-03-01/2024-03-05?limit=500"


@asynccontextmanager
async def chain(sim: Simulator, opts: NatsOptions) -> AsyncIterator[tuple[Hub, Hub, Hub]]:
    relay = RestRelay(sim.rest_url, KEY, "http://origin.lan", None, use_cache=False)
    origin = Hub(upstream_url=sim.ws_url, api_key=KEY, token="origin-token", rest=relay)
    link = OriginLink(opts, on_interest=origin.hold_remote, rest=relay, secret=KEY)
    origin.tap = link
    await origin.start()
    await link.start()
    await link.wait_connected()
    edges = []
    for i in range(2):
        edge = EdgeLink(opts, edge_id=f"edge-{i}")
        await edge.start()
        hub = Hub(
            upstream_url="nats://origin",
            api_key="",
            token=f"edge-token-{i}",
            session_factory=cast(SessionFactory, edge.upstream),
            rest=edge.rest,
        )
        await hub.start()
        edge.rest.public_base_url = hub.rest_url
        edges.append((edge, hub))
    try:
        yield origin, edges[0][1], edges[1][1]
    finally:
        for edge, hub in edges:
            await hub.close()
            await edge.close()
        await link.close()
        await origin.close()
        await relay.aclose()


async def test_official_client_and_raw_client_on_two_edges_over_one_upstream_connection(
    sim: Simulator, nats_options: NatsOptions
) -> None:
    async with chain(sim, nats_options) as (_, edge1, edge2):
        official = WebSocketClient(
            api_key="edge-token-0",
            feed=edge1.ws_url.removeprefix("ws://"),
            market="stocks",
            secure=False,
            subscriptions=["T.AAPL"],
        )
        seen: list[bytes] = []

        async def raw_client() -> list[dict[str, Any]]:
            got: list[dict[str, Any]] = []
            async with connect(edge2.ws_url + "/stocks") as ws:
                await ws.send(json.dumps({"action": "auth", "params": "edge-token-1"}))
                await ws.send(json.dumps({"action": "subscribe", "params": "T.*"}))
                async with asyncio.timeout(30):
                    while len({e.get("sym") for e in got if e["ev"] == "T"}) < 5:
                        data = await ws.recv(decode=False)
                        seen.append(data)
                        got.extend(json.loads(data))
            return got

        msgs, raw = await asyncio.gather(
            run_until(official, lambda m: sum(isinstance(x, EquityTrade) for x in m) >= 3),
            raw_client(),
        )
        assert {m.symbol for m in msgs if isinstance(m, EquityTrade)} == {"AAPL"}
        assert len({e.get("sym") for e in raw if e["ev"] == "T"}) >= 5
        assert sim.stats.accepted == 1  # one upstream connection for everybody
        async with httpx.AsyncClient() as http:
            via = await http.get(
                edge1.rest_url + SEED, headers={"Authorization": "Bearer edge-token-0"}
            )
            direct = await http.get(sim.rest_url + SEED, headers={"Authorization": f"Bearer {KEY}"})
        assert via.json()["results"] == direct.json()["results"]
        assert via.json()["next_url"].startswith(edge1.rest_url)
        assert all(KEY.encode() not in data for data in [*seen, via.content])


async def test_an_edge_whose_clients_take_everything_passes_frames_on_undecoded(
    sim: Simulator, nats_options: NatsOptions
) -> None:
    async with chain(sim, nats_options) as (_, edge, _other):
        taken: list[int] = []
        offer = edge.server.publish_frame

        def counting(cluster: str, frame: bytes) -> int:
            taken.append(offer(cluster, frame))
            return taken[-1]

        edge.server.publish_frame = counting  # type: ignore[method-assign]
        got: list[dict[str, Any]] = []
        async with connect(edge.ws_url + "/stocks") as ws:
            await ws.send(json.dumps({"action": "auth", "params": "edge-token-0"}))
            every = "T.*,Q.*,A.*,AM.*,LULD.*,NOI.*"
            await ws.send(json.dumps({"action": "subscribe", "params": every}))
            async with asyncio.timeout(30):
                while len({e["ev"] for e in got} & {"T", "Q"}) < 2 or not any(taken):
                    got.extend(json.loads(await ws.recv(decode=False)))
        passed = sum(taken)
        assert passed > 0  # frames from the bus went on as they came, counted, not decoded
        assert edge.server.stats.events_in >= passed
