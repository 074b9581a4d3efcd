"""Memory stays flat under an endless stream.

Measured as the process's RSS (psutil), the figure a user sees grow. The stream
is long enough in market time (a second per event: ~11 days; mostly trades)
that by the end every store of every symbol is full and wrapping: 256 trades,
120 second bars, 960 minute bars — the shallow depth of a symbol nobody
watches. So the 1 M figure is the steady state, and the test checks that it is.
Each measurement runs in a fresh interpreter, so memory that earlier tests
freed (and the allocator kept) cannot stand in for growth.
"""

from __future__ import annotations

import gc
import multiprocessing
import random
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import psutil

from ticktape.feed.events import Event, MinuteAgg, Quote, SecondAgg, Trade
from ticktape.market import MarketState

SYMBOLS = [f"S{i:03d}" for i in range(500)]
_CONDITIONS: list[tuple[int, ...]] = [(), (), (37,), (14, 41), (12,)]
T0 = 1_700_000_000_000
STEP_MS = 1_000


def frames(total: int, names: list[str], seed: int = 7) -> Iterator[list[Event]]:
    """Quotes, trades, second bars and the odd minute bar, ``STEP_MS`` apart."""
    rng = random.Random(seed)
    t = T0
    sent = 0
    while sent < total:
        frame: list[Event] = []
        for _ in range(min(rng.randint(1, 500), total - sent)):
            t += STEP_MS
            s = rng.choice(names)
            p = 10 + rng.random()
            r = rng.random()
            if r < 0.1:
                frame.append(Quote(symbol=s, bid=p - 0.01, ask=p + 0.01, timestamp=t))
            elif r < 0.9:
                c = _CONDITIONS[rng.randrange(5)]
                frame.append(Trade(symbol=s, price=p, size=100, timestamp=t, conditions=c))
            elif r < 0.99:
                start = t - t % 1000
                frame.append(
                    SecondAgg(symbol=s, open=p, high=p, low=p, close=p, volume=100, start=start)
                )
            else:
                start = t - t % 60_000 - 60_000
                frame.append(
                    MinuteAgg(symbol=s, open=p, high=p, low=p, close=p, volume=500, start=start)
                )
        sent += len(frame)
        yield frame


def rss() -> int:
    gc.collect()
    return int(psutil.Process().memory_info().rss)


def in_fresh_process(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``fn`` in a new interpreter: memory freed by earlier tests would hide growth."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn).result(timeout=240)


def stream_1m() -> dict[str, Any]:
    st = MarketState()
    applied = 0
    after_100k = 0
    for frame in frames(1_000_000, SYMBOLS):
        st.apply(frame, 0)
        applied += len(frame)
        if not after_100k and applied >= 100_000:
            after_100k = rss()
    syms = st.symbols.values()
    return {
        "after_100k": after_100k,
        "after_1m": rss(),
        "applied": applied,
        "symbols": len(st.symbols),
        "watched": sum(s.watched or s.qcap > 0 or len(s.quote_ring) > 0 for s in syms),
        "trades": {(len(s.trade_ring), s.trade_ring.cap) for s in syms},
        "seconds": {(len(s.seconds), s.seconds.cap) for s in syms},
        "minutes": {s.minutes.cap for s in syms},
        "fewest_minutes": min(len(s.minutes) for s in syms),
    }


def test_memory_after_1m_events_within_10pct_of_after_100k() -> None:
    got = in_fresh_process(stream_1m)
    assert got["applied"] == 1_000_000 and got["symbols"] == 500
    before, after = got["after_100k"], got["after_1m"]
    assert (after - before) / before <= 0.10, f"RSS {before / 2**20:.1f} → {after / 2**20:.1f} MiB"
    # That is the steady state: every store is full, at the shallow depth nobody looked past.
    assert got["watched"] == 0  # and no quote history is kept for them
    assert got["trades"] == {(256, 256)} and got["seconds"] == {(120, 120)}
    assert got["minutes"] == {960} and got["fewest_minutes"] >= 960 - 960 // 64


def create_then_fill() -> dict[str, Any]:
    names = [f"C{i:03d}" for i in range(300)]
    st = MarketState()
    before = rss()
    st.apply([Quote(symbol=s, bid=1, ask=2, timestamp=T0) for s in names], 0)
    created = rss()
    for k in range(1, 1_001):  # a trade in each of 1,000 minutes, a second bar in 130 of them
        t = T0 + k * 60_000
        frame: list[Event] = [Trade(symbol=s, price=10, size=100, timestamp=t) for s in names]
        if k <= 130:
            frame += [
                SecondAgg(symbol=s, open=10, high=10, low=10, close=10, volume=100, start=t)
                for s in names
            ]
        st.apply(frame, 0)
    syms = st.symbols.values()
    full = all(
        len(s.trade_ring) == 256 and len(s.seconds) == 120 and len(s.minutes) > 950 for s in syms
    )
    return {"before": before, "created": created, "filled": rss(), "full": full}


def test_capacity_is_committed_when_a_symbol_is_created() -> None:
    """Filling every store of 300 symbols costs a small part of what creating them did.

    Were the buffers allocated lazily (or their pages faulted in only as they
    fill), filling would cost as much as creating — memory would creep up
    with the stream instead of following the number of symbols.
    """
    got = in_fresh_process(create_then_fill)
    assert got["full"]
    cost, added = got["created"] - got["before"], got["filled"] - got["created"]
    assert cost > 300 * 60_000  # the stores are there: ~80 kB a symbol
    assert added <= 0.10 * cost, (
        f"created {cost / 2**20:.1f} MiB, filling added {added / 2**20:.1f}"
    )
