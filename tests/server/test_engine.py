"""The protocol engine on its own: what a source publishes, what each connection gets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from tests.sim.conftest import WireClient, client, subscribe, wait_for
from ticktape.feed.events import ForexQuote, Status, Trade, encode
from ticktape.server.engine import POLICY_CLOSE, ProtocolServer, json_response, key_checker


@asynccontextmanager
async def engine(**kw: Any) -> AsyncIterator[ProtocolServer]:
    kw.setdefault("one_per_key", False)  # the test clients share a key
    server = ProtocolServer(accept_key=key_checker(None), **kw)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


def trade(symbol: str, price: float) -> Trade:
    return Trade(symbol=symbol, price=price, size=100, timestamp=1_700_000_000_000)


async def test_a_connection_wanting_everything_gets_the_source_bytes_unchanged() -> None:
    events = [trade("AAPL", 1.5), trade("MSFT", 2.5)]
    # The source's own spelling (spaces), which no re-encoding would produce.
    raw = b'[ {"ev": "T", "sym": "AAPL", "p": 1.5, "s": 100, "t": 1700000000000},'
    raw += b' {"ev": "T", "sym": "MSFT", "p": 2.5, "s": 100, "t": 1700000000000} ]'
    async with engine() as server, client(server) as wild, client(server) as one:
        await subscribe(wild, "T.*")
        await subscribe(one, "T.MSFT")
        await wait_for(lambda: all(c.subs for c in server.clients("stocks")))
        server.publish("stocks", events, raw)
        assert await wild.ws.recv(decode=False) == raw
        assert await one.ws.recv(decode=False) == encode([events[1]])


async def test_past_max_clients_a_new_connection_is_refused_with_max_connections() -> None:
    async with engine(max_clients=1) as server, client(server) as first:
        async with connect(f"{server.ws_url}/stocks") as ws:
            second = WireClient(ws)
            await second.frame()  # connected
            await second.send("auth", "any")
            statuses = await second.statuses(2)
            assert [s.status for s in statuses] == ["auth_success", "max_connections"]
            with pytest.raises(ConnectionClosed):
                await second.frame()
            assert ws.close_code == POLICY_CLOSE
        assert await subscribe(first, "T.AAPL")  # the first one is untouched
        assert server.stats.refused == 1


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_plain_gets_reach_the_rest_handler_sync_or_async(asynchronous: bool) -> None:
    def answer(request: Request, base_url: str) -> Response:
        return json_response(200, {"path": request.path, "base": base_url})

    async def answer_later(request: Request, base_url: str) -> Response:
        return answer(request, base_url)

    async with engine(rest=answer_later if asynchronous else answer) as server:
        async with httpx.AsyncClient() as http:
            reply = await http.get(f"{server.rest_url}/v2/x?limit=1")
        assert reply.json() == {"path": "/v2/x?limit=1", "base": server.rest_url}
        async with httpx.AsyncClient() as http:
            missing = await http.get(f"{server.rest_url}/nowhere", headers={"Upgrade": "websocket"})
        assert missing.status_code == 404


async def test_statuses_reach_only_the_connections_named() -> None:
    async with engine() as server, client(server) as a, client(server) as b:
        await wait_for(lambda: server.connections == 2)
        here = f"127.0.0.1:{a.ws.local_address[1]}"
        [conn_a] = [c for c in server.clients("stocks") if c.address == here]
        server.send_statuses("stocks", [Status(status="x", message="for a")], only=[conn_a])
        server.send_statuses("stocks", [Status(status="y", message="for all")])
        assert [s.status for s in await a.statuses(2)] == ["x", "y"]
        assert [s.status for s in await b.statuses(1)] == ["y"]


async def test_frames_waiting_for_a_reader_are_joined_when_coalescing() -> None:
    frames = [encode([trade("AAPL", p)]) for p in (1.0, 2.0, 3.0)]
    async with engine(coalesce=True) as server, client(server) as c:
        await subscribe(c, "T.*")
        await wait_for(lambda: bool(server.clients("stocks")[0].subs))
        for data, price in zip(frames, (1.0, 2.0, 3.0), strict=True):
            server.publish("stocks", [trade("AAPL", price)], data)  # no await: all queue up
        joined = await c.ws.recv(decode=False)
        assert joined == b"[" + b",".join(f[1:-1] for f in frames) + b"]"
        assert [e.price for e in c.decoder.decode(joined)] == [1.0, 2.0, 3.0]
        assert server.stats.events_sent == 3


EVERY_CHANNEL = "T.*,Q.*,A.*,AM.*,LULD.*,NOI.*"


def compact(*events: Trade) -> bytes:
    """A frame as the service sends it (compact JSON): the pass-through's input."""
    return encode(list(events))


async def test_a_frame_passes_through_undecoded_when_every_client_takes_every_channel() -> None:
    raw = compact(trade("AAPL", 1.5), trade("MSFT", 2.5))
    async with engine(coalesce=True) as server, client(server) as a, client(server) as b:
        await subscribe(a, EVERY_CHANNEL)
        await subscribe(b, EVERY_CHANNEL)
        await wait_for(lambda: all(len(c.subs) == 6 for c in server.clients("stocks")))
        assert server.publish_frame("stocks", raw) == 2
        assert await a.ws.recv(decode=False) == raw
        assert await b.ws.recv(decode=False) == raw
        assert server.stats.events_in == 2
        assert server.stats.events_sent == 4


async def test_a_frame_is_left_to_the_decoder_while_any_client_takes_a_subset() -> None:
    raw = compact(trade("AAPL", 1.5), trade("MSFT", 2.5))
    async with engine(coalesce=True) as server, client(server) as wild, client(server) as one:
        await subscribe(wild, EVERY_CHANNEL)
        await subscribe(one, "T.MSFT")
        await wait_for(lambda: all(c.subs for c in server.clients("stocks")))
        assert server.publish_frame("stocks", raw) == 0  # a wildcard and a symbol client
        await subscribe(one, EVERY_CHANNEL)  # now both take everything: the cache follows
        assert server.publish_frame("stocks", raw) == 2
        await one.send("unsubscribe", "Q.*")
        await one.statuses(1)
        assert server.publish_frame("stocks", raw) == 0
        assert server.stats.events_in == 2  # a frame declined is not counted here


@pytest.mark.parametrize(
    "frame",
    [
        b'[{"ev":"status","status":"error","message":"x"}]',
        compact(trade("AAPL", 1.0))[:-1] + b',{"ev":"status","status":"success","message":"y"}]',
        b"not json",
        b'{"ev":"T","sym":"AAPL","p":1.0,"s":1,"t":1}',  # an object, not an array
        b'[ {"ev": "T", "sym": "AAPL", "p": 1.0, "s": 1, "t": 1} ]',  # not compact: decode it
        b"[]",
    ],
)
async def test_frames_the_decoder_must_see_are_declined(frame: bytes) -> None:
    async with engine(coalesce=True) as server, client(server) as a:
        await subscribe(a, EVERY_CHANNEL)
        await wait_for(lambda: len(server.clients("stocks")[0].subs) == 6)
        assert server.publish_frame("stocks", frame) == 0
        assert server.stats.events_in == 0


async def test_frames_passed_through_in_one_loop_turn_go_out_as_one_message_in_order() -> None:
    frames = [compact(trade("AAPL", p)) for p in (1.0, 2.0, 3.0)]
    async with engine(coalesce=True) as server, client(server) as c:
        await subscribe(c, EVERY_CHANNEL)
        await wait_for(lambda: len(server.clients("stocks")[0].subs) == 6)
        for data in frames[:2]:
            assert server.publish_frame("stocks", data) == 1  # no await: one loop turn
        server.send_statuses("stocks", [Status(status="x", message="after the first two")])
        assert server.publish_frame("stocks", frames[2]) == 1
        joined = await c.ws.recv(decode=False)
        assert joined == b"[" + b",".join(f[1:-1] for f in frames[:2]) + b"]"
        assert [e.price for e in c.decoder.decode(joined)] == [1.0, 2.0]
        # The status kept its place: after the first two, before the third.
        after = c.decoder.decode(await c.ws.recv(decode=False))
        assert after == [Status(status="x", message="after the first two"), trade("AAPL", 3.0)]
        assert server.stats.events_sent == 3


async def test_symbol_clients_sharing_topics_each_get_exactly_their_own() -> None:
    aapl, msft, ibm = trade("AAPL", 1.0), trade("MSFT", 2.0), trade("IBM", 3.0)
    async with (
        engine(coalesce=True) as server,
        client(server) as both,
        client(server) as one,
        client(server) as mixed,
    ):
        await subscribe(both, "T.AAPL,T.MSFT")
        await subscribe(one, "T.MSFT")
        await subscribe(mixed, "Q.*,T.IBM")  # a channel and a topic: selects for itself
        server.publish("stocks", [aapl, msft, ibm])
        assert both.decoder.decode(await both.ws.recv(decode=False)) == [aapl, msft]
        assert one.decoder.decode(await one.ws.recv(decode=False)) == [msft]
        assert mixed.decoder.decode(await mixed.ws.recv(decode=False)) == [ibm]
        await one.send("unsubscribe", "T.MSFT")
        await one.send("subscribe", "T.IBM")
        await one.statuses(2)
        server.publish("stocks", [aapl, msft, ibm])  # the routes follow the change
        assert one.decoder.decode(await one.ws.recv(decode=False)) == [ibm]


async def test_a_pair_client_gets_its_pair_and_the_end_of_a_replay() -> None:
    eur = ForexQuote(pair="EUR/USD", ask=1.1, bid=1.0, timestamp=1_700_000_000_000)
    jpy = ForexQuote(pair="USD/JPY", ask=150.1, bid=150.0, timestamp=1_700_000_000_000)
    end = Status(status="replay_finished", message="end of the recording")
    async with engine(coalesce=True) as server, client(server, cluster="forex") as c:
        await subscribe(c, "C.EUR/USD")
        server.publish("forex", [jpy, eur])
        assert c.decoder.decode(await c.ws.recv(decode=False)) == [eur]
        server.publish("forex", [jpy, end])  # a status from the source is for everyone
        assert c.decoder.decode(await c.ws.recv(decode=False)) == [end]
