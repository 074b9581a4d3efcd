"""The hub relays one upstream connection to many Polygon-protocol clients."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from massive import WebSocketClient
from massive.websocket.models import EquityTrade
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.hub.conftest import REAL_KEY, TOKEN, fast_sessions, hub_on_sim
from tests.sim.conftest import DEADLINE, WireClient, client, wait_for
from tests.sim.test_official_client import run_until
from ticktape.feed import upstream as words
from ticktape.feed.events import Event, Status, Trade, encode
from ticktape.hub.relay import Hub
from ticktape.server.engine import POLICY_CLOSE, ProtocolServer, key_checker


def ok(param: str) -> Status:
    return Status(status="success", message=f"subscribed to: {param}")


def trades(events: list[Event]) -> list[Trade]:
    return [e for e in events if isinstance(e, Trade)]


async def subscribe(c: WireClient, params: str) -> list[Status]:
    """Subscribe and return the one reply per param (the hub's upstream words skipped)."""
    await c.send("subscribe", params)
    replies: list[Status] = []
    while len(replies) < len(params.split(",")):
        replies += [st for st in await c.statuses(1) if not words.is_hub_word(st.status)]
    return replies


async def until_status(c: WireClient, word: str) -> Status:
    """Read (skipping data) until a status ``word`` arrives."""
    while True:
        for st in await c.statuses(1):
            if st.status == word:
                return st


async def test_two_official_clients_share_one_upstream_connection() -> None:
    async with hub_on_sim() as (sim, hub):

        def official(symbol: str) -> WebSocketClient:
            return WebSocketClient(
                api_key=TOKEN,
                feed=hub.ws_url.removeprefix("ws://"),
                market="stocks",
                secure=False,
                subscriptions=[f"T.{symbol}"],
            )

        def has_trades(msgs: list[Any]) -> bool:
            return sum(isinstance(m, EquityTrade) for m in msgs) >= 3

        got_a, got_b = await asyncio.gather(
            run_until(official("AAPL"), has_trades), run_until(official("MSFT"), has_trades)
        )
        assert {m.symbol for m in got_a if isinstance(m, EquityTrade)} == {"AAPL"}
        assert {m.symbol for m in got_b if isinstance(m, EquityTrade)} == {"MSFT"}
        assert sim.stats.accepted == 1  # the upstream saw exactly one connection
        assert sim.stats.max_connection_kicks == 0


async def test_a_wildcard_client_does_not_flood_a_topic_client() -> None:
    async with (
        hub_on_sim() as (_, hub),
        client(hub, key=TOKEN) as wild,
        client(hub, key=TOKEN) as one,
    ):
        assert await subscribe(wild, "T.*") == [ok("T.*")]
        assert await subscribe(one, "T.AAPL") == [ok("T.AAPL")]
        many = await wild.events(lambda got: len({t.symbol for t in trades(got)}) >= 5)
        assert len({t.symbol for t in trades(many)}) >= 5
        mine = await one.events(lambda got: len(trades(got)) >= 20)
        assert {e.key for e in mine} == {"AAPL"}
        up = hub.upstreams["stocks"]
        # T.* covers T.AAPL: the upstream holds the wildcard only.
        await wait_for(lambda: up.session.subscribed == {"T.*"})


async def test_every_client_is_told_how_many_share_the_hub() -> None:
    async with hub_on_sim() as (_, hub), client(hub, key=TOKEN) as a:
        assert (await until_status(a, words.CLIENTS)).message == "1 client on this hub"
        async with client(hub, key=TOKEN, cluster="crypto") as b:
            assert (await until_status(a, words.CLIENTS)).message == "2 clients on this hub"
            assert (await until_status(b, words.CLIENTS)).message == "2 clients on this hub"
        assert (await until_status(a, words.CLIENTS)).message == "1 client on this hub"


async def test_upstream_unsubscribes_only_when_no_client_wants_the_param() -> None:
    async with hub_on_sim() as (_, hub):
        async with client(hub, key=TOKEN) as a, client(hub, key=TOKEN) as b:
            await subscribe(a, "T.AAPL,Q.AAPL")
            await subscribe(b, "T.AAPL")
            up = hub.upstreams["stocks"]
            await wait_for(lambda: up.session.subscribed == {"T.AAPL", "Q.AAPL"})
            await a.send("unsubscribe", "T.AAPL,Q.AAPL")
            await wait_for(lambda: up.session.subscribed == {"T.AAPL"})
            got = await b.events(lambda got: len(trades(got)) >= 5)  # b is still fed
            assert {e.key for e in got} == {"AAPL"}
        # Both gone: nothing is wanted upstream any more.
        await wait_for(lambda: up.session.subscribed == frozenset())


async def test_upstream_kick_says_reconnecting_and_data_resumes_without_resubscribing() -> None:
    async with hub_on_sim() as (sim, hub), client(hub, key=TOKEN) as c:
        await subscribe(c, "T.AAPL")
        await until_status(c, words.CONNECTED)
        await c.events(lambda got: len(trades(got)) >= 3)
        sim.faults.kick_all()  # the upstream drops every connection: the hub's is one
        said = await until_status(c, words.RECONNECTING)
        assert said.message.startswith("upstream reconnecting")
        await until_status(c, words.CONNECTED)
        after = await c.events(lambda got: len(trades(got)) >= 3)  # no resubscribe sent
        assert {e.key for e in after} == {"AAPL"}
        assert sim.stats.accepted == 2


async def test_a_stalled_client_is_cut_while_another_keeps_receiving() -> None:
    async with hub_on_sim(sim={"rate": 20_000, "speed": 1}, max_queue=64 * 1024) as (_, hub):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: small window
        sock.connect(("127.0.0.1", hub.server.port))
        async with (
            client(hub, key=TOKEN, sock=sock, max_queue=1) as stalled,
            client(hub, key=TOKEN) as fine,
        ):
            await subscribe(fine, "T.*,Q.*")

            async def read_on() -> None:
                while True:
                    await fine.frame()

            statuses: list[Status] = []

            async def drain_stalled() -> None:
                with pytest.raises(ConnectionClosed):
                    while True:
                        statuses.extend(e for e in await stalled.frame() if isinstance(e, Status))

            reader = asyncio.create_task(read_on())
            try:
                await subscribe(stalled, "T.*,Q.*")  # and reads nothing until it is cut
                await wait_for(lambda: hub.server.stats.slow_consumers >= 1)
                # Read what was queued before the cut now: the server waits only so long for
                # a client to take its close, and a loaded machine must not turn that into a loss.
                drained = asyncio.create_task(drain_stalled())
                cut_at = fine.decoder.stats.events
                await wait_for(lambda: fine.decoder.stats.events >= cut_at + 1000)
                assert hub.server.stats.slow_consumers == 1  # the reader was never cut
                await drained
            finally:
                reader.cancel()
            assert statuses and statuses[-1].status == "slow_consumer"
            assert stalled.ws.close_code == POLICY_CLOSE
            assert hub.upstreams["stocks"].session.status.state.value == "live"


async def test_the_plan_lacking_a_channel_is_said_to_every_client_that_asks() -> None:
    async with (
        hub_on_sim(sim={"refused_channels": {"Q"}}) as (_, hub),
        client(hub, key=TOKEN) as a,
    ):
        await a.send("subscribe", "Q.AAPL")  # the hub says success, the upstream refuses
        refused = await until_status(a, "error")
        assert refused.message == "You are not authorized to subscribe to: Q.AAPL"
        async with client(hub, key=TOKEN) as b:
            await b.send("subscribe", "Q.AAPL")
            again = await until_status(b, "error")
            assert again.message == refused.message


async def test_bad_messages_get_an_error_status_and_the_hub_carries_on() -> None:
    async with hub_on_sim(max_subscriptions=2, max_message=1024) as (_, hub):
        async with client(hub, key=TOKEN) as c:
            await c.ws.send("{not json")
            err = await until_status(c, "error")
            assert err == Status(status="error", message="invalid message")
            replies = await subscribe(c, "T.AAPL,T.MSFT,T.IBM")
            assert replies[:2] == [ok("T.AAPL"), ok("T.MSFT")]
            assert replies[2].status == "error" and "limit (2)" in replies[2].message
            await c.ws.send(json.dumps({"action": "subscribe", "params": "T.A," * 1000}))
            with pytest.raises(ConnectionClosed):
                await c.statuses(1000)
            assert c.ws.close_code == 1009  # message too big
        async with client(hub, key=TOKEN) as again:
            assert await subscribe(again, "T.AAPL") == [ok("T.AAPL")]


async def test_a_wrong_token_is_refused_and_the_key_never_reaches_a_client() -> None:
    received: list[bytes] = []
    async with hub_on_sim() as (sim, hub):
        async with connect(f"{hub.ws_url}/stocks") as ws:
            received.append(str(await ws.recv()).encode())
            await ws.send(json.dumps({"action": "auth", "params": REAL_KEY}))
            reply = await ws.recv()
            received.append(str(reply).encode())
            assert json.loads(reply)[0]["status"] == "auth_failed"
        async with connect(f"{hub.ws_url}/stocks", max_size=None) as ws:
            await ws.send(json.dumps({"action": "auth", "params": TOKEN}))
            await ws.send(json.dumps({"action": "subscribe", "params": "T.*,Q.AAPL,AM.*"}))
            sim.faults.kick_all()  # statuses about the upstream too
            deadline = asyncio.get_running_loop().time() + 3
            while asyncio.get_running_loop().time() < deadline or len(received) < 20:
                received.append(str(await asyncio.wait_for(ws.recv(), DEADLINE)).encode())
        snapshot = json.dumps(hub.snapshot()).encode()
    everything = b"".join(received) + snapshot + repr(hub).encode()
    assert REAL_KEY.encode() not in everything
    assert b"upstream_" in everything  # the upstream's state did reach the client


async def test_a_rejected_upstream_key_is_said_to_clients() -> None:
    async with (
        hub_on_sim(sim={"api_key": "another-key"}) as (_, hub),
        client(hub, key=TOKEN) as c,
    ):
        said = await until_status(c, words.AUTH_FAILED)
        assert said.message == "upstream rejected the hub's API key"


async def test_rest_needs_the_token_and_reaches_the_relay() -> None:
    import httpx

    class FakeRelay:
        def __init__(self) -> None:
            self.paths: list[str] = []
            self.bases: list[str | None] = []

        async def handle(
            self, path_and_query: str, *, public_base_url: str | None = None
        ) -> tuple[int, list[tuple[str, str]], bytes]:
            self.paths.append(path_and_query)
            self.bases.append(public_base_url)
            return 200, [("Content-Type", "application/json")], b'{"status":"OK"}'

        def stats(self) -> dict[str, Any]:
            return {"cache_hits": 0}

    relay = FakeRelay()
    async with (
        Hub(upstream_url="ws://127.0.0.1:9", api_key=REAL_KEY, token=TOKEN, rest=relay) as hub,
        httpx.AsyncClient(base_url=hub.rest_url) as http,
    ):
        path = "/v2/aggs/ticker/AAPL/range/1/minute/2024-01-02/2024-01-03?limit=10"
        refused = await http.get(path, headers={"Authorization": "Bearer wrong"})
        assert refused.status_code == 401 and relay.paths == []
        answered = await http.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
        assert answered.status_code == 200 and answered.json() == {"status": "OK"}
        assert relay.paths == [path]
        assert relay.bases == [hub.rest_url]  # where this client reached the hub
        status = await http.get("/hub/status", headers={"Authorization": f"Bearer {TOKEN}"})
        assert status.json()["rest"] == {"cache_hits": 0}


# --- the fan-out's paths, with an upstream whose every byte the test decides ---------------

EVERY_CHANNEL = "T.*,Q.*,A.*,AM.*,LULD.*,NOI.*"


@asynccontextmanager
async def hub_on_engine() -> AsyncIterator[tuple[ProtocolServer, Hub]]:
    """A hub whose upstream is a bare protocol engine: frames go up only by ``blast``."""
    upstream = ProtocolServer(accept_key=key_checker(REAL_KEY))
    await upstream.start()
    try:
        async with Hub(
            upstream_url=upstream.ws_url,
            api_key=REAL_KEY,
            token=TOKEN,
            session_options=fast_sessions(),
        ) as hub:
            yield upstream, hub
    finally:
        await upstream.close()


async def upstream_holds(hub: Hub, params: set[str]) -> None:
    up = hub.upstreams["stocks"]
    await wait_for(lambda: up.session.status.state.value == "live")
    await wait_for(lambda: up.session.subscribed == params)


async def data_bytes(c: WireClient) -> bytes:
    """The next message that is not a status, as the bytes that came."""
    while True:
        data = await asyncio.wait_for(c.ws.recv(decode=False), DEADLINE)
        if b'"ev":"status"' not in data:
            return data


AAPL = Trade(symbol="AAPL", price=1.5, size=100, timestamp=1_700_000_000_000)
MSFT = Trade(symbol="MSFT", price=2.5, size=100, timestamp=1_700_000_000_000)


async def test_a_wildcard_client_gets_the_upstream_bytes_and_a_symbol_client_its_part() -> None:
    raw = encode([AAPL, MSFT])
    async with (
        hub_on_engine() as (upstream, hub),
        client(hub, key=TOKEN) as wild,
        client(hub, key=TOKEN) as one,
    ):
        await subscribe(wild, EVERY_CHANNEL)
        await subscribe(one, "T.MSFT")
        await upstream_holds(hub, set(EVERY_CHANNEL.split(",")))
        await upstream.blast([raw])
        assert await data_bytes(wild) == raw
        assert await data_bytes(one) == encode([MSFT])


async def test_a_malformed_upstream_frame_is_counted_and_skipped_on_the_pass_through() -> None:
    good = encode([AAPL, MSFT])
    async with (
        hub_on_engine() as (upstream, hub),
        client(hub, key=TOKEN) as a,
        client(hub, key=TOKEN) as b,
    ):
        await subscribe(a, EVERY_CHANNEL)
        await subscribe(b, EVERY_CHANNEL)
        await upstream_holds(hub, set(EVERY_CHANNEL.split(",")))
        await upstream.blast([good[:-9], good])  # cut short: starts like an array, is not one
        assert await data_bytes(a) == good  # the bad frame never reached a client
        assert await data_bytes(b) == good
        decoded = hub.upstreams["stocks"].session.stats.decode
        assert decoded.errors == {"not_json": 1}
        assert hub.server.stats.events_in == 2


async def test_a_status_inside_a_data_frame_reaches_the_session_and_the_data_still_flows() -> None:
    refusal = Status(status="error", message="You are not authorized to subscribe to: Q.*")
    frame = encode([AAPL, refusal, MSFT])  # compact, but a status: not passed through
    async with hub_on_engine() as (upstream, hub), client(hub, key=TOKEN) as c:
        await subscribe(c, EVERY_CHANNEL)
        await upstream_holds(hub, set(EVERY_CHANNEL.split(",")))
        await upstream.blast([frame])
        got: list[Event] = []
        while AAPL not in got or MSFT not in got or refusal not in got:
            got += await c.frame()
        # The session took the status (the client hears it as the hub's word) and the
        # data around it came on, the status taken out.
        assert [e for e in got if isinstance(e, Trade)] == [AAPL, MSFT]
        assert "Q.*" in hub.upstreams["stocks"].refused
