"""The websocket session (the asyncio adapter) against the simulator on loopback: handshake,
subscriptions, reconnects, kicks, slow consumers, malformed frames and dead connections.
The protocol's rules alone are tested without sockets in test_protocol.py.

Every wait is on a state change or an event, with a generous deadline. The
only fixed windows are where a test must show that something does *not*
happen (no second attempt, no ping-pong).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from ticktape.config import Secret
from ticktape.feed.backoff import Backoff
from ticktape.feed.events import Event, Status
from ticktape.feed.session import ConnState, Session, SessionStatus
from ticktape.sim.server import Simulator

DEADLINE = 30.0
KEY = "k3y-s3cret-value"
UNIVERSE = ("AAPL", "MSFT", "TSLA", "NVDA")


class Recorder:
    """Collects what a session publishes; lets a test wait for a condition."""

    def __init__(self) -> None:
        self.states: list[SessionStatus] = []
        self.server: list[Status] = []
        self.events: list[Event] = []
        self.acks: list[list[str]] = []  # per connection: params the server confirmed
        self._changed = asyncio.Event()

    def on_events(self, events: list[Event], recv_ms: int) -> None:
        self.events.extend(events)
        self._changed.set()

    def on_status(self, st: SessionStatus) -> None:
        self.states.append(st)
        if st.state is ConnState.CONNECTING:
            self.acks.append([])
        self._changed.set()

    def on_server_status(self, st: Status) -> None:
        self.server.append(st)
        if st.status == "success":
            self.acks[-1].append(st.message)
        self._changed.set()

    def count(self, state: ConnState) -> int:
        return sum(1 for s in self.states if s.state is state)

    async def wait_for(self, pred: Callable[[], bool], within: float = DEADLINE) -> None:
        async with asyncio.timeout(within):
            while not pred():
                self._changed.clear()
                await self._changed.wait()


def fast() -> Backoff:
    return Backoff(base=0.01, cap=0.05)


def params(symbols: Iterable[str], channels: Iterable[str] = ("T", "Q")) -> list[str]:
    return sorted(f"{ch}.{s}" for s in symbols for ch in channels)


@asynccontextmanager
async def running(
    url: str, rec: Recorder, symbols: Iterable[str] = ("AAPL", "MSFT"), **kw: Any
) -> AsyncIterator[Session]:
    kw.setdefault("backoff", fast())
    session = Session(
        url,
        kw.pop("api_key", KEY),
        channels=kw.pop("channels", ("T", "Q")),
        on_events=kw.pop("on_events", rec.on_events),
        on_status=rec.on_status,
        on_server_status=rec.on_server_status,
        symbols=symbols,
        **kw,
    )
    task = asyncio.create_task(session.run())
    try:
        yield session
    finally:
        await session.stop()
        assert task.done() and task.exception() is None


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    # The universe is just the symbols the tests use, so the whole rate reaches them.
    async with Simulator(seed=1, symbols=UNIVERSE, rate=1000.0, close_timeout=1.0) as s:
        yield s


def live(rec: Recorder, n: int = 1) -> Callable[[], bool]:
    return lambda: rec.count(ConnState.LIVE) >= n


async def test_handshake_then_streams_only_what_was_asked_for(
    sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rec = Recorder()
    async with running(f"{sim.ws_url}/stocks", rec) as session:
        await rec.wait_for(live(rec))
        await rec.wait_for(lambda: len(rec.events) >= 50)
        assert [s.state for s in rec.states[:4]] == [
            ConnState.CONNECTING,
            ConnState.AUTHENTICATING,
            ConnState.SUBSCRIBING,
            ConnState.LIVE,
        ]
        assert {e.key for e in rec.events} <= {"AAPL", "MSFT"}
        assert not any(isinstance(e, Status) for e in rec.events)
        assert [s.status for s in rec.server[:2]] == ["connected", "auth_success"]
        assert session.subscribed == set(params(["AAPL", "MSFT"]))
        assert session.stats.events_per_s > 0
        assert KEY not in repr(session)
    assert rec.states[-1].state is ConnState.STOPPED
    # The key is in no status and no client log line (websockets logs frames at DEBUG;
    # the simulator's own server-side log is not ours to police).
    assert not any(KEY in s.reason for s in rec.states)
    client_logs = [r for r in caplog.records if not r.name.startswith("websockets.server")]
    assert client_logs
    assert not any(KEY in r.getMessage() for r in client_logs)


async def test_watchlist_changes_send_only_the_difference(sim: Simulator) -> None:
    rec = Recorder()
    async with running(f"{sim.ws_url}/stocks", rec, symbols=["AAPL", "MSFT"]) as session:
        await rec.wait_for(live(rec))
        await rec.wait_for(lambda: len(rec.acks[-1]) == 4)
        before = len(rec.server)
        session.set_symbols(["AAPL", "NVDA"])
        await rec.wait_for(lambda: len(rec.server) >= before + 4)
        replies = sorted(st.message for st in rec.server[before:])
        assert replies == [
            "subscribed to: Q.NVDA",
            "subscribed to: T.NVDA",
            "unsubscribed to: Q.MSFT",
            "unsubscribed to: T.MSFT",
        ]
        assert session.subscribed == set(params(["AAPL", "NVDA"]))
        mark = len(rec.events)
        await rec.wait_for(lambda: any(e.key == "NVDA" for e in rec.events[mark:]))


async def test_twenty_forced_disconnects_give_twenty_clean_recoveries(sim: Simulator) -> None:
    rec = Recorder()
    symbols = ["AAPL", "MSFT", "TSLA"]
    expected = params(symbols)
    async with running(f"{sim.ws_url}/stocks", rec, symbols=symbols) as session:
        for n in range(1, 22):
            await rec.wait_for(live(rec, n))
            await rec.wait_for(lambda: len(rec.acks[-1]) >= len(expected))
            assert session.subscribed == set(expected)
            if n <= 20:
                sim.faults.kick_all()
        assert rec.count(ConnState.LIVE) == 21
        assert session.stats.reconnects == 20
        assert rec.count(ConnState.RECONNECTING) == 20
        # Every connection subscribed to each param exactly once: no duplicates.
        for acks in rec.acks:
            assert Counter(acks) == Counter(f"subscribed to: {p}" for p in expected)
        assert sim.stats.accepted == 21


async def test_a_healthy_connection_puts_the_next_retry_back_at_the_shortest_wait(
    sim: Simulator,
) -> None:
    """Drops right after connecting make the wait grow; a drop after a connection that
    streamed for ``reset_after`` seconds is retried as if nothing had failed before."""
    healthy = 1.0
    backoff = Backoff(base=0.01, cap=5.0, jitter=0.0, reset_after=healthy)
    rec = Recorder()

    def drops() -> list[tuple[int, float | None]]:
        return [(s.attempt, s.retry_in) for s in rec.states if s.state is ConnState.RECONNECTING]

    async with running(f"{sim.ws_url}/stocks", rec, backoff=backoff):
        for n in (1, 2):  # two connections dropped at once: a flapping path
            await rec.wait_for(live(rec, n))
            sim.faults.kick_all()
            await rec.wait_for(lambda n=n: len(drops()) == n)
        await rec.wait_for(live(rec, 3))
        up_at, mark = time.monotonic(), len(rec.events)
        # The connection streams for the whole healthy period before it drops.
        await rec.wait_for(lambda: time.monotonic() - up_at > healthy and len(rec.events) > mark)
        sim.faults.kick_all()
        await rec.wait_for(lambda: len(drops()) == 3)
    assert drops() == [(1, 0.01), (2, 0.02), (1, 0.01)]


async def test_wrong_key_is_tried_once_then_waits_for_a_new_key() -> None:
    async with Simulator(seed=1, api_key="the-right-key", close_timeout=1.0) as sim:
        rec = Recorder()
        async with running(f"{sim.ws_url}/stocks", rec, api_key="a-wrong-key") as session:
            await rec.wait_for(lambda: rec.count(ConnState.AUTH_FAILED) == 1)
            await asyncio.sleep(0.5)  # a window in which a retry would show
            assert session.connections == 1
            assert sim.stats.accepted == 1
            assert session.status.state is ConnState.AUTH_FAILED
            assert "a-wrong-key" not in session.status.reason
            session.key_changed(Secret("the-right-key"))  # as config hands it over
            await rec.wait_for(live(rec))
            assert sim.stats.accepted == 2


async def test_second_session_with_the_same_key_kicks_the_first_without_ping_pong(
    sim: Simulator,
) -> None:
    first, second = Recorder(), Recorder()
    url = f"{sim.ws_url}/stocks"
    async with running(url, first) as a:
        await first.wait_for(live(first))
        async with running(url, second) as b:
            await first.wait_for(lambda: first.count(ConnState.KICKED) == 1)
            await second.wait_for(live(second))
            assert a.status.state is ConnState.KICKED
            assert "another session" in a.status.reason
            assert a.status.retry_in is not None and a.status.retry_in >= 60.0
            accepted = sim.stats.accepted
            await asyncio.sleep(1.5)  # the window in which a ping-pong would show
            assert sim.stats.accepted == accepted == 2
            assert a.status.state is ConnState.KICKED
            assert b.status.state is ConnState.LIVE
            assert second.count(ConnState.KICKED) == 0


@contextmanager
def sim_in_thread(**kw: Any) -> Iterator[Simulator]:
    """A simulator on its own event loop, so a client that blocks its loop does not stop it
    (in one loop a stuck consumer would freeze the server too, and no backlog could build)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    sim = Simulator(**kw)
    asyncio.run_coroutine_threadsafe(sim.__aenter__(), loop).result(DEADLINE)
    try:
        yield sim
    finally:
        asyncio.run_coroutine_threadsafe(sim.__aexit__(None, None, None), loop).result(DEADLINE)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(DEADLINE)
        loop.close()


async def test_slow_consumer_is_reported_and_the_session_recovers() -> None:
    with sim_in_thread(
        seed=1, symbols=["AAPL", "MSFT"], rate=20_000.0, max_queue=65_536, close_timeout=10.0
    ) as sim:
        rec = Recorder()
        stuck = [True]

        def slow(events: list[Event], recv_ms: int) -> None:
            rec.on_events(events, recv_ms)
            if stuck[0]:
                # A consumer stuck (rendering, say) and not reading, until the server gives up.
                stuck[0] = False
                deadline = time.monotonic() + DEADLINE
                while sim.stats.slow_consumers == 0 and time.monotonic() < deadline:
                    time.sleep(0.05)

        async with running(f"{sim.ws_url}/stocks", rec, on_events=slow):
            await rec.wait_for(lambda: rec.count(ConnState.SLOW_CONSUMER) == 1)
            assert any(st.status == "slow_consumer" for st in rec.server)
            slow_status = next(s for s in rec.states if s.state is ConnState.SLOW_CONSUMER)
            assert "too slowly" in slow_status.reason
            assert slow_status.retry_in is not None
            await rec.wait_for(live(rec, 2))


async def test_malformed_frames_are_counted_while_good_events_arrive(sim: Simulator) -> None:
    rec = Recorder()
    sim.faults.malformed_fraction(0.3)
    async with running(f"{sim.ws_url}/stocks", rec) as session:
        decode = session.stats.decode
        await rec.wait_for(lambda: decode.error_total >= 10 and len(rec.events) >= 200)
        assert session.status.state is ConnState.LIVE
        assert session.stats.snapshot().decode_errors >= 10
        assert rec.count(ConnState.LIVE) == 1  # bad frames never cost the connection


async def test_stalled_server_is_detected_as_dead(sim: Simulator) -> None:
    rec = Recorder()
    async with running(f"{sim.ws_url}/stocks", rec, data_timeout=0.5) as session:
        await rec.wait_for(lambda: len(rec.events) >= 20)
        sim.faults.stall(60.0)
        await rec.wait_for(lambda: rec.count(ConnState.RECONNECTING) >= 1)
        assert "no data" in next(s for s in rec.states if s.state is ConnState.RECONNECTING).reason
        sim.faults.stall(0.0)
        mark = len(rec.events)
        await rec.wait_for(lambda: len(rec.events) > mark)
        assert session.status.state is ConnState.LIVE


async def test_hung_simulator_is_detected_by_the_default_silence_check(sim: Simulator) -> None:
    """No data_timeout: only "no frames and no pong" can notice, so the stall must hang pings."""
    rec = Recorder()
    async with running(f"{sim.ws_url}/stocks", rec, silence_timeout=1.0) as session:
        await rec.wait_for(lambda: len(rec.events) >= 20)
        sim.faults.stall(60.0)
        await rec.wait_for(lambda: rec.count(ConnState.RECONNECTING) >= 1)
        dead = next(s for s in rec.states if s.state is ConnState.RECONNECTING)
        assert "no frames and no pong" in dead.reason
        sim.faults.stall(0.0)
        mark = len(rec.events)
        await rec.wait_for(lambda: len(rec.events) > mark)
        assert session.status.state is ConnState.LIVE


async def test_connection_with_no_frames_and_no_pongs_is_dead() -> None:
    """A server that stops reading (hung) answers no ping: the watchdog must notice."""

    async def hung(ws: ServerConnection) -> None:
        await ws.send('[{"ev":"status","status":"connected","message":"Connected Successfully"}]')
        await ws.recv()
        await ws.send('[{"ev":"status","status":"auth_success","message":"authenticated"}]')
        ws.transport.pause_reading()
        await ws.wait_closed()

    async with serve(hung, "127.0.0.1", 0, ping_interval=None, close_timeout=0.1) as server:
        port = server.sockets[0].getsockname()[1]
        rec = Recorder()
        async with running(
            f"ws://127.0.0.1:{port}/stocks", rec, silence_timeout=1.0, ping_interval=None
        ):
            await rec.wait_for(lambda: rec.count(ConnState.RECONNECTING) >= 1)
        dead = next(s for s in rec.states if s.state is ConnState.RECONNECTING)
        assert "no frames and no pong" in dead.reason
        assert rec.count(ConnState.LIVE) >= 1


async def test_unreachable_server_is_offline_and_retried_after_growing_capped_waits() -> None:
    async with serve(lambda ws: ws.wait_closed(), "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
    rec = Recorder()  # the port is closed now: nothing listens
    backoff = Backoff(base=0.01, cap=0.05, jitter=0.0)  # no jitter: the waits are exact
    async with running(f"ws://127.0.0.1:{port}/stocks", rec, backoff=backoff):
        await rec.wait_for(lambda: rec.count(ConnState.OFFLINE) >= 5)
    offline = [s for s in rec.states if s.state is ConnState.OFFLINE]
    assert all("cannot reach 127.0.0.1" in s.reason for s in offline)
    assert [(s.attempt, s.retry_in) for s in offline[:5]] == [
        (1, 0.01),
        (2, 0.02),
        (3, 0.04),
        (4, 0.05),  # the cap: the wait stops growing here
        (5, 0.05),
    ]


CONNECTED = '[{"ev":"status","status":"connected","message":"Connected Successfully"}]'
AUTH_OK = '[{"ev":"status","status":"auth_success","message":"authenticated"}]'


@asynccontextmanager
async def scripted(on_auth: list[str]) -> AsyncIterator[str]:
    """A server that says ``connected``, waits for auth, then sends ``on_auth`` frames."""

    async def handler(ws: ServerConnection) -> None:
        await ws.send(CONNECTED)
        await ws.recv()
        for frame in on_auth:
            await ws.send(frame)
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, close_timeout=0.5) as server:
        yield f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/stocks"


async def test_older_error_wording_counts_as_a_rejected_key() -> None:
    old = '[{"ev":"status","status":"error","message":"authentication failed"}]'
    async with scripted([old]) as url:
        rec = Recorder()
        async with running(url, rec) as session:
            await rec.wait_for(lambda: rec.count(ConnState.AUTH_FAILED) == 1)
            assert session.connections == 1


async def test_force_disconnect_is_reported_and_retried() -> None:
    forced = '[{"ev":"status","status":"force_disconnect","message":"maintenance"}]'
    async with scripted([AUTH_OK, forced]) as url:
        rec = Recorder()
        async with running(url, rec):
            await rec.wait_for(lambda: rec.count(ConnState.LIVE) >= 2)
        ended = next(s for s in rec.states if s.state is ConnState.RECONNECTING)
        assert ended.reason == "the server forced a disconnect: maintenance"


async def test_batched_statuses_are_split_out_and_a_failing_consumer_is_survived() -> None:
    batch = (
        '[{"ev":"T","sym":"AAPL","p":1.5,"s":100,"t":1700000000000},'
        '{"ev":"status","status":"success","message":"subscribed to: T.AAPL"},'
        '{"ev":"Q","sym":"AAPL","bp":1.4,"ap":1.6,"t":1700000000001}]'
    )
    rec = Recorder()
    calls: list[list[Event]] = []

    def consumer(events: list[Event], recv_ms: int) -> None:
        calls.append(events)
        rec.on_events(events, recv_ms)
        if len(calls) == 1:
            raise RuntimeError("a bug in the consumer")

    async with (
        scripted([AUTH_OK, batch, batch]) as url,
        running(url, rec, on_events=consumer) as session,
    ):
        await rec.wait_for(lambda: len(calls) == 2)
        assert session.stats.consumer_errors == 1
        assert session.status.state is ConnState.LIVE
    assert [type(e).__name__ for e in calls[0]] == ["Trade", "Quote"]
    assert [st.message for st in rec.server if st.status == "success"] == [
        "subscribed to: T.AAPL"
    ] * 2


async def test_a_server_that_echoes_the_key_gets_it_masked_everywhere() -> None:
    echo = f'[{{"ev":"status","status":"force_disconnect","message":"bad session {KEY}"}}]'
    async with scripted([AUTH_OK, echo]) as url:
        rec = Recorder()
        async with running(url, rec):
            await rec.wait_for(lambda: rec.count(ConnState.RECONNECTING) >= 1)
    seen = [st.message for st in rec.server] + [st.reason for st in rec.states]
    assert "the server forced a disconnect: bad session ****" in seen
    assert not [text for text in seen if KEY in text]
