"""Memory stays flat under an endless stream (issue 4).

Measured as the process's RSS (psutil), the figure issue 4 names. One million
events across 500 symbols take a few seconds, so this is an ordinary test.
What may legitimately grow is history bounded by its caps (a minute bar per
symbol-minute of market time: the stream below spans ~17 minutes).
"""

from __future__ import annotations

import gc
import random
from collections.abc import Iterator

import psutil

from ticktape.feed.events import Event, Quote, Trade
from ticktape.market import MarketState

SYMBOLS = [f"S{i:03d}" for i in range(500)]
_CONDITIONS: list[tuple[int, ...]] = [(), (), (37,), (14, 41), (12,)]


def frames(total: int, seed: int = 7) -> Iterator[list[Event]]:
    rng = random.Random(seed)
    t = 1_700_000_000_000
    sent = 0
    while sent < total:
        frame: list[Event] = []
        for _ in range(min(rng.randint(1, 500), total - sent)):
            t += 1
            s = rng.choice(SYMBOLS)
            p = 10 + rng.random()
            if rng.random() < 0.5:
                frame.append(Quote(symbol=s, bid=p - 0.01, ask=p + 0.01, timestamp=t))
            else:
                c = _CONDITIONS[rng.randrange(5)]
                frame.append(Trade(symbol=s, price=p, size=100, timestamp=t, conditions=c))
        sent += len(frame)
        yield frame


def rss() -> int:
    gc.collect()
    return int(psutil.Process().memory_info().rss)


def test_memory_after_1m_events_within_10pct_of_after_100k() -> None:
    st = MarketState()
    stream = frames(1_000_000)
    applied = 0
    after_100k = 0
    for frame in stream:
        st.apply(frame, 0)
        applied += len(frame)
        if not after_100k and applied >= 100_000:
            after_100k = rss()
    after_1m = rss()
    assert applied == 1_000_000 and len(st.symbols) == 500
    growth = (after_1m - after_100k) / after_100k
    assert growth <= 0.10, f"RSS {after_100k / 2**20:.1f} MiB → {after_1m / 2**20:.1f} MiB"
