"""The simulator's WebSocket protocol, rule by rule (docs/protocol.md), over real sockets."""

from __future__ import annotations

import asyncio
import itertools
import socket
import time

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from tests.sim.conftest import DEADLINE, client, subscribe, wait_for
from ticktape.feed.events import MinuteAgg, Quote, Status, Trade
from ticktape.sim import protocol as proto
from ticktape.sim.server import POLICY_CLOSE, Simulator


def ok(param: str, verb: str = "subscribed") -> Status:
    return Status(status="success", message=f"{verb} to: {param}")


async def closed_code(ws: ClientConnection, within: float = DEADLINE) -> int | None:
    """Read until the connection closes; return the close code the server sent."""
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(within):
            while True:
                await ws.recv()
    return ws.close_code


# --- pure rules -----------------------------------------------------------------------


def test_split_param_accepts_wire_symbol_forms_and_rejects_junk() -> None:
    assert proto.split_param("T.AAPL") == ("T", "AAPL")
    assert proto.split_param("T.BRK.B") == ("T", "BRK.B")
    assert proto.split_param("C.EUR/USD") == ("C", "EUR/USD")
    assert proto.split_param("XT.*") == ("XT", "*")
    for bad in ("AAPL", "T.", ".AAPL", "T.AA PL", "T." + "A" * 40, 'T."x"'):
        assert proto.split_param(bad) is None


def test_unknown_action_and_bad_channel_get_error_statuses() -> None:
    subs = proto.Subscriptions()
    replies, _ = proto.apply_action(proto.Action("dance", ""), subs, "stocks")
    assert [r.status for r in replies] == ["error"]
    replies, symbols = proto.apply_action(proto.Action("subscribe", "XT.BTC-USD"), subs, "stocks")
    assert replies == [proto.error("invalid subscription: XT.BTC-USD")]
    assert not subs and symbols == []


# --- handshake ------------------------------------------------------------------------


async def test_connected_then_any_nonempty_key_is_accepted_without_api_key() -> None:
    async with Simulator(rate=100) as sim, client(sim, key="whatever") as c:
        assert c.decoder.stats.error_total == 0  # handshake asserted by client()


async def test_wrong_key_gets_auth_failed_then_close() -> None:
    async with Simulator(rate=100, api_key="right") as sim, client(sim, key=None) as c:
        await c.send("auth", "wrong")
        assert await c.frame() == [Status(status="auth_failed", message="authentication failed")]
        assert await closed_code(c.ws) == POLICY_CLOSE
        assert sim.stats.auth_failures == 1


async def test_empty_key_fails_even_when_any_key_is_accepted() -> None:
    async with Simulator(rate=100) as sim, client(sim, key=None) as c:
        await c.send("auth", "")
        assert [s.status for s in await c.statuses(1)] == ["auth_failed"]


async def test_auth_timeout_when_client_never_authenticates() -> None:
    async with Simulator(rate=100, auth_timeout=0.3) as sim, client(sim, key=None) as c:
        [status] = await c.statuses(1)
        assert status.status == "auth_timeout"
        assert await closed_code(c.ws) == POLICY_CLOSE


async def test_actions_before_auth_are_refused_and_auth_still_works() -> None:
    async with Simulator(rate=100) as sim, client(sim, key=None) as c:
        await c.send("subscribe", "T.AAPL")
        assert [s.status for s in await c.statuses(1)] == ["auth_required"]
        await c.ws.send("not json")
        assert [s.status for s in await c.statuses(1)] == ["auth_required"]
        await c.send("auth", "k")
        assert [s.status for s in await c.statuses(1)] == ["auth_success"]


# --- subscriptions --------------------------------------------------------------------


async def test_one_success_per_param_and_only_subscribed_events_arrive() -> None:
    async with Simulator(rate=4000) as sim, client(sim) as c:
        replies = await subscribe(c, "T.AAPL,Q.AAPL")
        assert replies == [ok("T.AAPL"), ok("Q.AAPL")]
        got = await c.events(
            lambda ev: (
                any(isinstance(e, Trade) for e in ev) and any(isinstance(e, Quote) for e in ev)
            )
        )
        assert {type(e) for e in got} <= {Trade, Quote}
        assert {e.key for e in got} == {"AAPL"}


async def test_any_symbol_can_be_subscribed() -> None:
    async with Simulator(rate=4000) as sim, client(sim) as c:
        assert await subscribe(c, "T.ZZZQ") == [ok("T.ZZZQ")]
        got = await c.events(lambda ev: len(ev) >= 3)
        assert {(type(e), e.key) for e in got} == {(Trade, "ZZZQ")}


async def test_wildcard_brings_many_symbols_of_that_channel_only() -> None:
    async with Simulator(rate=4000) as sim, client(sim) as c:
        assert await subscribe(c, "T.*") == [ok("T.*")]
        got = await c.events(lambda ev: len({e.key for e in ev}) >= 5)
        assert all(isinstance(e, Trade) for e in got)


async def test_unsubscribe_stops_the_stream_after_its_reply() -> None:
    async with Simulator(rate=4000) as sim, client(sim) as c:
        await subscribe(c, "T.AAPL,T.MSFT")
        await c.events(lambda ev: {e.key for e in ev} == {"AAPL", "MSFT"})
        await c.send("unsubscribe", "T.AAPL")
        # Events already queued may precede the reply; none may follow it.
        while not any(e == ok("T.AAPL", "unsubscribed") for e in await c.frame()):
            pass
        after = await c.events(lambda ev: len(ev) >= 20)
        assert {e.key for e in after} == {"MSFT"}


async def test_events_that_happen_together_share_one_frame() -> None:
    async with Simulator(rate=20_000) as sim, client(sim) as c:
        await subscribe(c, "T.*,Q.*")
        sizes: list[int] = []
        while max(sizes, default=0) < 2:
            sizes.append(len(await c.frame()))
        assert max(sizes) >= 2


async def test_refused_channel_gets_error_status_and_no_events() -> None:
    async with Simulator(rate=4000, refused_channels={"Q"}) as sim, client(sim) as c:
        replies = await subscribe(c, "T.AAPL,Q.AAPL")
        assert replies[0] == ok("T.AAPL")
        assert replies[1] == Status(
            status="error", message="You are not authorized to subscribe to: Q.AAPL"
        )
        got = await c.events(lambda ev: len(ev) >= 10)
        assert all(isinstance(e, Trade) for e in got)


async def test_forex_and_crypto_clusters_serve_their_own_events() -> None:
    async with Simulator(rate=4000) as sim:
        async with client(sim, "forex") as c:
            assert await subscribe(c, "C.EUR/USD") == [ok("C.EUR/USD")]
            got = await c.events(lambda ev: len(ev) >= 2)
            assert {e.key for e in got} == {"EUR/USD"}
        async with client(sim, "crypto") as c:
            assert await subscribe(c, "XT.BTC-USD") == [ok("XT.BTC-USD")]
            got = await c.events(lambda ev: len(ev) >= 2)
            assert {e.key for e in got} == {"BTC-USD"}


# --- connection limits ----------------------------------------------------------------


async def test_newer_connection_with_same_key_kicks_the_older() -> None:
    async with Simulator(rate=2000) as sim, client(sim, key="k") as old:
        await subscribe(old, "T.*")
        async with client(sim, key="k") as new, client(sim, key="other") as other:
            statuses: list[Status] = []
            with pytest.raises(ConnectionClosed):
                while True:
                    statuses += [e for e in await old.frame() if isinstance(e, Status)]
            assert [s.status for s in statuses] == ["max_connections"]
            assert old.ws.close_code == POLICY_CLOSE
            # The newer connection, and another key's, stay usable.
            assert await subscribe(new, "T.AAPL") == [ok("T.AAPL")]
            assert await subscribe(other, "T.AAPL") == [ok("T.AAPL")]
            await new.events(lambda ev: len(ev) >= 1)
            assert sim.stats.max_connection_kicks == 1


async def test_same_key_on_different_clusters_is_allowed() -> None:
    async with (
        Simulator(rate=100) as sim,
        client(sim, "stocks", key="k") as a,
        client(sim, "forex", key="k") as b,
    ):
        assert await subscribe(a, "T.AAPL") == [ok("T.AAPL")]
        assert await subscribe(b, "C.EUR/USD") == [ok("C.EUR/USD")]
        assert sim.connections == 2


async def test_slow_consumer_gets_status_and_close() -> None:
    async with Simulator(rate=20_000, max_queue=64 * 1024) as sim:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: small window
        sock.connect(("127.0.0.1", int(sim.ws_url.rsplit(":", 1)[1])))
        async with client(sim, sock=sock, max_queue=1) as c:
            await subscribe(c, "T.*,Q.*")
            # Stop reading: the server's queue for us grows until it gives up on us.
            await wait_for(lambda: sim.stats.slow_consumers == 1)
            statuses: list[Status] = []
            with pytest.raises(ConnectionClosed):
                while True:
                    statuses += [e for e in await c.frame() if isinstance(e, Status)]
            assert [s.status for s in statuses] == ["slow_consumer"]
            assert c.ws.close_code == POLICY_CLOSE


async def test_server_pings_and_drops_a_peer_that_never_answers() -> None:
    quick = {"ping_interval": 0.2, "ping_timeout": 0.3, "close_timeout": 0.5}
    async with Simulator(rate=100, **quick) as sim, client(sim, close_timeout=0.5) as c:
        await wait_for(lambda: sim.connections == 1)
        c.ws.transport.pause_reading()  # no pongs from now on
        await wait_for(lambda: sim.connections == 0)


# --- feed variants --------------------------------------------------------------------


async def test_delayed_feed_sends_events_fifteen_minutes_late() -> None:
    async with Simulator(rate=4000, delayed=True) as sim, client(sim) as c:
        await subscribe(c, "T.AAPL")
        [first, *_] = await c.events(lambda ev: len(ev) >= 1)
        lag_min = (time.time() * 1000 - first.time_ms) / 60_000
        assert 14.5 <= lag_min <= 16


async def test_same_seed_same_values_over_the_wire() -> None:
    start = int(time.time() * 1000) - 2000

    async def trades(seed: int) -> list[Trade]:
        async with Simulator(seed=seed, rate=4000, start_ms=start) as sim, client(sim) as c:
            await subscribe(c, "T.AAPL")
            got = await c.events(lambda ev: len(ev) >= 40)
            return [e for e in got if isinstance(e, Trade)]

    runs = [await trades(7), await trades(7), await trades(8)]
    lo = max(run[0].timestamp for run in runs)
    hi = min(run[-1].timestamp for run in runs)
    a, b, other = ([t for t in run if lo < t.timestamp < hi] for run in runs)
    assert a and a == b
    assert other != a


async def test_minute_bars_arrive_with_speed() -> None:
    async with Simulator(rate=2000, speed=600) as sim, client(sim) as c:
        await subscribe(c, "AM.AAPL")
        bars = await c.events(lambda ev: len(ev) >= 3)
        assert all(isinstance(b, MinuteAgg) and b.symbol == "AAPL" for b in bars)


# --- faults ---------------------------------------------------------------------------


async def test_drop_after_aborts_connections_like_a_network_failure() -> None:
    async with Simulator(rate=100) as sim, client(sim) as c:
        sim.faults.drop_after(0.2)
        assert await closed_code(c.ws) == 1006  # no close frame: the TCP connection just died
        assert sim.stats.dropped == 1


async def test_kick_all_drops_every_connection() -> None:
    async with (
        Simulator(rate=100) as sim,
        client(sim, key="a") as a,
        client(sim, "forex", key="b") as b,
    ):
        await wait_for(lambda: sim.connections == 2)
        sim.faults.kick_all()
        assert await closed_code(a.ws) == 1006
        assert await closed_code(b.ws) == 1006


async def test_malformed_frames_reach_the_decoder_as_errors() -> None:
    async with Simulator(rate=4000) as sim, client(sim) as c:
        sim.faults.malformed_fraction(1.0)
        await subscribe(c, "T.*")  # statuses are never damaged
        while c.decoder.stats.error_total < 10:
            await c.frame()
        assert set(c.decoder.stats.errors) <= {"not_json", "unknown_ev", "bad_type"}
        sim.faults.malformed_fraction(0.0)
        before = c.decoder.stats.error_total
        await c.events(lambda ev: len(ev) >= 20)  # frames queued before the switch may be bad
        errors_then = c.decoder.stats.error_total
        await c.events(lambda ev: len(ev) >= 20)
        assert c.decoder.stats.error_total == errors_then >= before


async def test_stall_leaves_a_gap_in_the_stream() -> None:
    async with Simulator(rate=4000) as sim, client(sim) as c:
        await subscribe(c, "T.*,Q.*")
        got = await c.events(lambda ev: len(ev) >= 20)
        sim.faults.stall(0.5)
        got += await c.events(lambda ev: len(ev) >= 2 and ev[-1].time_ms - ev[0].time_ms > 700)
        gaps = [b.time_ms - a.time_ms for a, b in itertools.pairwise(got)]
        assert max(gaps) >= 400  # the events of the stall were never sent
