"""Hubs linked through a real ``nats-server`` on 127.0.0.1 (with a token): the simulator
feeds an origin through one session; edges receive what their clients hold."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import nats
import pytest

from tests.link.conftest import KEY, Edge, Origin
from tests.sim.conftest import wait_for
from ticktape.feed.events import Quote, Trade
from ticktape.feed.session import ConnState
from ticktape.hub.rest import RestRelay
from ticktape.link.connect import NatsOptions
from ticktape.link.edge import EdgeLink
from ticktape.link.natsserver import NatsServer
from ticktape.sim.server import Simulator

EDGE_BASE = "http://edge-1.lan:8000"
SEED = "/v2/aggs/ticker/AAPL/range/1/minute/2024-03-01/2024-03-05?limit=500"


class Spy:
    """A plain NATS client that keeps every byte on the bus: payloads and headers."""

    def __init__(self) -> None:
        self.seen: list[bytes] = []

    async def open(self, options: NatsOptions) -> Spy:
        self.nc = await nats.connect(**options.connect_kwargs())

        async def keep(msg: Any) -> None:
            self.seen.append(msg.subject.encode() + msg.data + repr(msg.headers).encode())

        await self.nc.subscribe(">", cb=keep)
        await self.nc.flush()
        return self

    async def close(self) -> None:
        await self.nc.close()


@pytest.fixture
async def origin(sim: Simulator, nats_options: NatsOptions) -> AsyncIterator[Origin]:
    async with Origin(sim, nats_options) as o:
        await o.link.wait_connected()
        yield o


async def edge(options: NatsOptions, name: str, *params: str, ttl: float = 6.0) -> Edge:
    return await Edge(EdgeLink(options, edge_id=name, ttl=ttl)).open(*params)


async def test_two_edges_receive_what_their_clients_hold_over_one_upstream_connection(
    sim: Simulator, origin: Origin, nats_options: NatsOptions
) -> None:
    e1 = await edge(nats_options, "edge-1", "T.*")
    e2 = await edge(nats_options, "edge-2", "Q.BRK.B", "T.AAPL")  # a dot in a symbol
    try:
        await wait_for(lambda: origin.held == {"T.*", "Q.BRK.B", "T.AAPL"})
        await wait_for(lambda: len({e.key for e in e1.events}) >= 5)
        await wait_for(lambda: {type(e) for e in e2.events} == {Trade, Quote})
        assert sim.connections == 1
        assert {type(e) for e in e1.events} == {Trade}
        assert {(type(e).__name__, e.key) for e in e2.events} <= {
            ("Quote", "BRK.B"),
            ("Trade", "AAPL"),
        }
        assert e1.state == e2.state == ConnState.LIVE.value
        # Each message is the wire encoding a Polygon client reads: a JSON array of events.
        assert all(json.loads(f)[0]["ev"] in ("T", "Q") for f in e1.frames + e2.frames)
    finally:
        await e1.close()
        await e2.close()


async def test_a_vanished_edges_interest_ages_out_and_leaves_upstream(
    origin: Origin, nats_options: NatsOptions
) -> None:
    stays = await edge(nats_options, "stays", "T.MSFT")
    vanishes = await edge(nats_options, "vanishes", "T.AAPL", ttl=1.0)
    try:
        await wait_for(lambda: origin.subscribed == {"T.MSFT", "T.AAPL"})
        # The edge's machine drops off the bus: no goodbye, its announcements just stop.
        assert vanishes.link.nats.nc is not None
        for task in vanishes.link._tasks:
            task.cancel()
        await vanishes.link.nats.nc.close()
        await wait_for(lambda: origin.subscribed == {"T.MSFT"})
        assert origin.link.stats.edges_expired == 1
        assert (["T.AAPL"], []) not in origin.interest_calls[-1:]  # the last change removed it
        assert origin.interest_calls[-1] == ([], ["T.AAPL"])
    finally:
        await stays.close()


async def test_an_edge_that_leaves_says_goodbye_and_upstream_lets_go_at_once(
    origin: Origin, nats_options: NatsOptions
) -> None:
    e = await edge(nats_options, "polite", "T.AAPL", ttl=600.0)
    await wait_for(lambda: origin.subscribed == {"T.AAPL"})
    await e.close()
    await wait_for(lambda: origin.subscribed == frozenset())
    assert origin.link.stats.edges_expired == 0


async def test_nats_down_says_origin_unreachable_and_data_resumes_when_it_is_back(
    origin: Origin, nats_options: NatsOptions, nats_server: NatsServer
) -> None:
    e1 = await edge(nats_options, "edge-1", "T.*")
    e2 = await edge(nats_options, "edge-2", "Q.AAPL")
    try:
        await wait_for(lambda: bool(e1.events) and bool(e2.events))
        nats_server.stop()
        await wait_for(lambda: e1.state == e2.state == ConnState.OFFLINE.value)
        assert "origin unreachable" in e1.states[-1].reason
        nats_server.start()
        await wait_for(lambda: e1.state == e2.state == ConnState.LIVE.value, within=30)
        before = (len(e1.events), len(e2.events))
        await wait_for(lambda: len(e1.events) > before[0] and len(e2.events) > before[1])
        assert origin.subscribed == {"T.*", "Q.AAPL"}  # upstream never let go
    finally:
        await e1.close()
        await e2.close()


async def test_an_origin_restart_makes_edges_announce_again_and_data_resumes(
    sim: Simulator, nats_options: NatsOptions
) -> None:
    e = await edge(nats_options, "edge-1", "T.AAPL", ttl=600.0)  # no periodic repeat soon
    try:
        async with Origin(sim, nats_options) as first:
            await wait_for(lambda: first.subscribed == {"T.AAPL"})
            await wait_for(lambda: bool(e.events))
        await wait_for(lambda: e.state == ConnState.OFFLINE.value)  # its goodbye
        assert e.states[-1].reason == "origin unreachable: the origin hub stopped"
        async with Origin(sim, nats_options) as second:
            await wait_for(lambda: second.subscribed == {"T.AAPL"})
            count = len(e.events)
            await wait_for(lambda: len(e.events) > count and e.state == ConnState.LIVE.value)
    finally:
        await e.close()


async def test_the_origins_upstream_troubles_reach_the_edge(
    sim: Simulator, nats_options: NatsOptions
) -> None:
    e = await edge(nats_options, "edge-1", "T.AAPL")
    try:
        async with Origin(sim, nats_options, key="not-the-key"):
            await wait_for(lambda: e.state == ConnState.AUTH_FAILED.value)
            assert "rejected the API key" in e.states[-1].reason
    finally:
        await e.close()


async def test_rest_through_an_edge_equals_rest_direct_and_no_byte_carries_the_key(
    sim: Simulator, nats_options: NatsOptions, tmp_path: Any
) -> None:
    spy = await Spy().open(nats_options)
    relay = RestRelay(sim.rest_url, KEY, "http://origin.lan:9000", tmp_path / "rest.sqlite3")
    e = await edge(nats_options, "edge-1", "T.*", "Q.AAPL")
    e.link.rest.public_base_url = EDGE_BASE
    try:
        async with Origin(sim, nats_options) as origin:
            origin.link.rest = relay
            await wait_for(lambda: e.state == ConnState.LIVE.value and bool(e.events))
            via_edge = await _page(e.link, SEED)
            direct = await _page_direct(sim, SEED)
            assert len(via_edge) >= 3
            assert _bars(via_edge) == _bars(direct)
            assert via_edge[0]["next_url"].startswith(EDGE_BASE + "/v2/aggs/ticker/AAPL/")
            status, _, body = await e.link.rest.handle("/v2/aggs/../../etc/passwd")
            assert status == 400, body
        received = [*e.frames, *spy.seen]
        assert received and all(KEY.encode() not in data for data in received)
        assert all(KEY not in repr(p) for p in via_edge)
    finally:
        await e.close()
        await relay.aclose()
        await spy.close()


async def test_rest_without_an_origin_is_a_clear_error_not_a_hang(
    nats_options: NatsOptions,
) -> None:
    e = await edge(nats_options, "edge-1")
    try:
        await e.link.nats.connected.wait()
        status, _, body = await e.link.rest.handle(SEED)
        assert status == 502
        assert "origin unreachable" in json.loads(body)["error"]
    finally:
        await e.close()


async def _page(link: EdgeLink, target: str) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    nxt: str | None = target
    while nxt is not None:
        status, _, body = await link.rest.handle(nxt)
        assert status == 200, body
        pages.append(json.loads(body))
        url = pages[-1].get("next_url")
        nxt = url[len(EDGE_BASE) :] if url else None
    return pages


async def _page_direct(sim: Simulator, target: str) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    auth = {"Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(base_url=sim.rest_url, headers=auth) as http:
        url: str | None = target
        while url is not None:
            r = await http.get(url)
            pages.append(r.json())
            url = r.json().get("next_url")
    return pages


def _bars(pages: list[dict[str, Any]]) -> list[Any]:
    return [b for p in pages for b in p.get("results") or []]


async def test_nothing_reaches_an_edge_that_holds_nothing(
    origin: Origin, nats_options: NatsOptions
) -> None:
    busy = await edge(nats_options, "busy", "T.*")
    idle = await edge(nats_options, "idle")
    try:
        await wait_for(lambda: len(busy.events) > 50)
        assert idle.frames == []
    finally:
        await busy.close()
        await idle.close()


async def test_an_edge_started_while_nats_is_down_says_origin_unreachable_then_goes_live(
    origin: Origin, nats_options: NatsOptions, nats_server: NatsServer
) -> None:
    nats_server.stop()
    e = await edge(nats_options, "early", "T.AAPL")
    try:
        await wait_for(lambda: e.state == ConnState.OFFLINE.value)
        assert e.states[-1].reason == f"origin unreachable: cannot reach NATS at {nats_server.url}"
        nats_server.start()
        await wait_for(lambda: e.state == ConnState.LIVE.value and bool(e.events), within=30)
    finally:
        await e.close()


async def test_a_wrong_nats_token_is_said_as_such(nats_server: NatsServer, tmp_path: Any) -> None:
    wrong = tmp_path / "wrong.token"
    wrong.write_text("not-the-token")
    e = await edge(NatsOptions(nats_server.url, token_file=wrong), "intruder", "T.AAPL")
    try:
        await wait_for(lambda: e.state == ConnState.OFFLINE.value)
        assert e.states[-1].reason == (
            f"origin unreachable: NATS at {nats_server.url} rejected the credentials"
        )
    finally:
        await e.close()


async def test_an_origin_that_dies_without_a_word_is_noticed_by_its_silence(
    sim: Simulator, nats_options: NatsOptions
) -> None:
    e = await edge(nats_options, "edge-1", "T.AAPL")
    try:
        crashed = Origin(sim, nats_options)
        await crashed.__aenter__()
        await wait_for(lambda: e.state == ConnState.LIVE.value)
        for task in crashed.link._tasks:  # the process dies: no goodbye, no heartbeat
            task.cancel()
        assert crashed.link.nats.nc is not None
        await crashed.link.nats.nc.close()
        await wait_for(lambda: e.state == ConnState.OFFLINE.value)
        assert "origin unreachable: no word from the origin for" in e.states[-1].reason
        await crashed.__aexit__()
    finally:
        await e.close()
