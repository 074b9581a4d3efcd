"""The hot path equals the reference around the regular-session close.

The inline trade path decides a Form T trade's minute-bar rules by the hour
(extended hours: the bar takes its price, the day only its volume) and unlinks
the forming bar when such a price leaves the day's range. The midnight corpus
of test_market_reference.py is all extended hours; this one runs from 15:50 to
16:10 New York time, so the same symbols trade Form T prints inside and
outside the regular session, with plain and odd-lot trades in between.
"""

from __future__ import annotations

import random
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from market_reference import RefState

from ticktape.feed.decode import Decoder
from ticktape.feed.events import Event, Quote, Trade, encode
from ticktape.market import MarketState

_CONDITIONS: list[tuple[int, ...]] = [(), (), (37,), (12,), (12,), (12, 37), (14,), (22,)]
_START = int(datetime(2026, 3, 11, 15, 50, tzinfo=ZoneInfo("America/New_York")).timestamp() * 1000)


def corpus(seed: int, events: int = 20_000, symbols: int = 8) -> list[list[Event]]:
    rng = random.Random(seed)
    names = [f"S{i}" for i in range(symbols)]
    price = {s: rng.uniform(5, 50) for s in names}
    t = _START
    frames: list[list[Event]] = []
    for _ in range(events // 100):
        frame: list[Event] = []
        for _ in range(100):
            t += rng.randint(0, 120)
            s = rng.choice(names)
            if rng.random() < 0.3:
                p = price[s]
                frame.append(
                    Quote(symbol=s, bid=round(p - 0.01, 2), ask=round(p + 0.01, 2), timestamp=t)
                )
                continue
            # Form T prints stray further, so some leave the day's range.
            c = rng.choice(_CONDITIONS)
            step = rng.choice((-0.05, -0.01, 0, 0.01, 0.05) if 12 in c else (-0.01, 0, 0.01))
            p = price[s] = round(max(0.01, price[s] + step), 2)
            frame.append(
                Trade(symbol=s, price=p, size=rng.choice((10, 100, 300)), timestamp=t, conditions=c)
            )
        frames.append(frame)
    return frames


@pytest.mark.parametrize("seed", [4, 5])
def test_fast_path_equals_reference_across_the_close(seed: int) -> None:
    frames = corpus(seed)
    assert frames[-1][-1].time_ms > _START + 15 * 60_000  # the stream does cross 16:00
    fast, ref, decoder = MarketState(), RefState(), Decoder()
    for frame in frames:
        fast.apply(decoder.decode(encode(frame)), 0)
        ref.apply(frame)
    for sym, r in ref.symbols.items():
        s = fast.get(sym)
        assert s is not None
        assert (s.last, s.last_size, s.last_ms, s.tick) == (r.last, r.last_size, r.last_ms, r.tick)
        assert (s.open, s.high, s.low, s.volume) == (r.open, r.high, r.low, r.volume), sym
        assert s.vwap == pytest.approx(r.pv / r.volume), sym
        got = [(b.start_ms, b.open, b.high, b.low, b.close, b.volume) for b in fast.bars(sym, "1m")]
        want = [(b.start_ms, b.open, b.high, b.low, b.close, b.volume) for b in r.bars()]
        assert got == want, sym
