"""The streaming engine end to end: simulator → Session → MarketState on 127.0.0.1.

The simulator runs its market clock fast (``SPEED``), so a minute bar closes
every fraction of a second. Every wait is on events with a deadline.

* The bars a client builds from trades equal the server's own AM bars: both
  sides take their sale-condition rules from ``ticktape.feed.conditions``.
  Checked in regular hours and in the pre-market, where every trade carries
  Form T (12): the simulator's clock is shifted there, so the check does not
  depend on when the suite runs.
* A REST seed joins the live stream with one bar per minute and no gap, and
  the joined bars are what REST itself says afterwards.

"A re-sent AM replaces the earlier bar" is covered at unit level
(tests/market/test_market_bars.py::test_resent_am_replaces_the_earlier_one):
the simulator never re-sends a minute, so there is nothing to add here.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from datetime import time as clock

import pytest

from ticktape.feed.conditions import FORM_T
from ticktape.feed.events import Event, MinuteAgg, Trade
from ticktape.feed.rest import RestClient
from ticktape.feed.session import Session
from ticktape.market import MarketState
from ticktape.market.bars import TRADES
from ticktape.sim import Simulator
from ticktape.sim import server as sim_server
from ticktape.sim.market import SimMarket
from ticktape.timeutil import EXCHANGE_TZ, zone

SYMS = ("AAPL", "MSFT", "ZZZQ")
SPEED = 300.0  # one market minute per 0.2 s of wall time
RATE = 3_000.0  # events per wall second: ~70 trades per symbol per market minute
MINUTE = 60_000
DEADLINE = 20.0


class Signal:
    """Wakes waiters whenever a callback saw something; waits on a predicate with a deadline."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def __call__(self) -> None:
        self._event.set()

    async def wait_for(self, pred: Callable[[], bool], within: float = DEADLINE) -> None:
        async with asyncio.timeout(within):
            while not pred():
                self._event.clear()
                await self._event.wait()


@asynccontextmanager
async def streaming(
    sim: Simulator, key: str, channels: Sequence[str], on_events: Callable[[list[Event], int], None]
) -> AsyncIterator[Session]:
    """A Session to the simulator's stocks cluster for SYMS (one key per connection:
    the server keeps one connection per key)."""
    session = Session(
        f"{sim.ws_url}/stocks", key, channels=channels, on_events=on_events, symbols=SYMS
    )
    task = asyncio.create_task(session.run())
    try:
        yield session
    finally:
        await session.stop()
        await task


def minute_of(ms: int) -> int:
    return ms - ms % MINUTE


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


@pytest.mark.parametrize(
    "et", [clock(11, 0), clock(6, 0)], ids=["regular-hours", "pre-market-form-t"]
)
async def test_bars_built_from_trades_equal_the_simulators_minute_bars(
    et: clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = datetime.now(zone(EXCHANGE_TZ)).date()
    target = int(datetime.combine(today, et, tzinfo=zone(EXCHANGE_TZ)).timestamp() * 1000)
    offset = target - wall_ms()
    # The server's one wall-clock source: shifting it puts the market at ``et`` today.
    monkeypatch.setattr(sim_server, "_wall_ms", lambda: wall_ms() + offset)
    signal = Signal()
    built = MarketState()  # gets trades only: every minute bar in it is built from trades
    first_trade: dict[str, int] = {}
    newest_trade = 0
    form_t: set[bool] = set()  # whether trades carried Form T
    ams: list[MinuteAgg] = []

    def on_trades(events: list[Event], recv_ms: int) -> None:
        nonlocal newest_trade
        built.apply(events, recv_ms)
        for ev in events:
            if isinstance(ev, Trade):
                first_trade.setdefault(ev.symbol, ev.timestamp)
                newest_trade = max(newest_trade, ev.timestamp)
                form_t.add(FORM_T in ev.conditions)
        signal()

    def on_bars(events: list[Event], recv_ms: int) -> None:
        ams.extend(ev for ev in events if isinstance(ev, MinuteAgg))
        signal()

    def comparable() -> list[MinuteAgg]:
        """AM bars of minutes the trade stream saw whole (after its first, partial minute)."""
        return [
            am
            for am in ams
            if am.symbol in first_trade and am.start > minute_of(first_trade[am.symbol])
        ]

    async with (
        Simulator(seed=7, symbols=SYMS, rate=RATE, speed=SPEED) as sim,
        streaming(sim, "trades-key", ("T",), on_trades),
        streaming(sim, "bars-key", ("AM",), on_bars),
    ):
        await signal.wait_for(
            lambda: min(Counter(am.symbol for am in comparable()).get(s, 0) for s in SYMS) >= 5
        )
        compared = comparable()
        # One connection's frames are in market-time order: a later trade means that
        # every trade of the compared minutes has been applied.
        last_end = max(am.end for am in compared)
        await signal.wait_for(lambda: newest_trade >= last_end)

    assert form_t == {et < clock(9, 30)}
    assert len(compared) >= 5 * len(SYMS)
    for sym in SYMS:
        mine = [am for am in compared if am.symbol == sym]
        bars = {b.start_ms: b for b in built.bars(sym, "1m")}
        low, high = minute_of(first_trade[sym]), max(am.start for am in mine)
        # the same minutes have bars on both sides (a minute of odd lots only has none)...
        assert {m for m in bars if low < m <= high} == {am.start for am in mine}
        for am in mine:  # ... and the same figures
            bar = bars[am.start]
            assert bar.source == TRADES
            got = (bar.open, bar.high, bar.low, bar.close, bar.volume)
            assert got == (am.open, am.high, am.low, am.close, am.volume), (sym, am)
            assert bar.vwap == pytest.approx(am.vwap, abs=1e-4)
            assert bar.volume // bar.transactions == am.avg_size


async def test_rest_seed_then_live_has_one_bar_per_minute_and_matches_rest() -> None:
    signal = Signal()
    state = MarketState()
    live_ams: Counter[str] = Counter()
    newest_am: dict[str, int] = {}

    def on_events(events: list[Event], recv_ms: int) -> None:
        state.apply(events, recv_ms)
        for ev in events:
            if isinstance(ev, MinuteAgg):
                live_ams[ev.symbol] += 1
                newest_am[ev.symbol] = ev.start
        signal()

    async with (
        Simulator(seed=3, symbols=SYMS, rate=RATE, speed=SPEED) as sim,
        streaming(sim, "live-key", ("T", "Q", "AM"), on_events),
        RestClient(sim.rest_url, "rest-key") as rest,
    ):
        # Live first, as the app does: some minutes are then both live and in REST.
        await signal.wait_for(lambda: all(live_ams[s] >= 1 for s in SYMS))
        market = sim.market("stocks")
        assert isinstance(market, SimMarket)
        now = market.market_ms(wall_ms())
        since = minute_of(now) - 30 * MINUTE
        for sym in SYMS:
            state.seed_bars(sym, [a async for a in rest.iter_aggs(sym, 1, "minute", since, now)])
        seeded = dict(live_ams)
        await signal.wait_for(lambda: all(live_ams[s] >= seeded[s] + 3 for s in SYMS))
        joined = {sym: list(state.bars(sym, "1m")) for sym in SYMS}
        done = dict(newest_am)  # minutes up to here are complete (AM is sent after its minute)
        truth = {
            sym: [a async for a in rest.iter_aggs(sym, 1, "minute", since, now + 60 * MINUTE)]
            for sym in SYMS
        }

    for sym in SYMS:
        starts = [b.start_ms for b in joined[sym]]
        assert starts[0] == since
        assert starts == list(range(since, starts[-1] + MINUTE, MINUTE)), sym  # no gap, no double
        complete = [b for b in joined[sym] if b.start_ms <= done[sym]]
        assert complete[-1].start_ms >= minute_of(now) + MINUTE  # live went on past the seed
        rest_bars = {a.timestamp: a for a in truth[sym]}
        for bar in complete:
            a = rest_bars[bar.start_ms]
            got = (bar.open, bar.high, bar.low, bar.close, bar.volume)
            assert got == (a.open, a.high, a.low, a.close, a.volume), (sym, bar)
            assert bar.vwap == pytest.approx(a.vwap, rel=1e-9)
