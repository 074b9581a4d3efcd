"""The fast path and the reference implementation reach the same state."""

from __future__ import annotations

import random

import pytest
from market_reference import RefState

from ticktape.feed.decode import Decoder
from ticktape.feed.events import Event, MinuteAgg, Quote, Trade, encode
from ticktape.market import MarketState
from ticktape.market.bars import day_bounds

_CONDITIONS: list[tuple[int, ...]] = [
    (),
    (),
    (),
    (37,),
    (14, 41),
    (12,),
    (12, 37),
    (2,),
    (22,),
    (32,),
    (15,),
    (38,),
    (53,),
]


def corpus(seed: int, events: int = 30_000, symbols: int = 20) -> list[list[Event]]:
    """In-order frames of Q/T/AM across an exchange-day boundary, with re-sent AMs."""
    rng = random.Random(seed)
    names = [f"S{i}" for i in range(symbols)]
    price = {s: rng.uniform(5, 50) for s in names}
    _, midnight = day_bounds(1_700_000_000_000)
    t = midnight - 10 * 60_000
    frames: list[list[Event]] = []
    sent_am: list[MinuteAgg] = []
    n = 0
    while n < events:
        frame: list[Event] = []
        for _ in range(rng.randint(1, 200)):
            t += rng.randint(0, 60)
            s = rng.choice(names)
            p = price[s]
            r = rng.random()
            if r < 0.45:
                spread = rng.choice((0.0, 0.01, 0.02, 0.05))
                frame.append(
                    Quote(symbol=s, bid=round(p - spread, 2), ask=round(p + spread, 2), timestamp=t)
                )
            elif r < 0.985:
                p = price[s] = round(max(0.01, p + rng.choice((-0.02, -0.01, 0, 0.01, 0.02))), 2)
                frame.append(
                    Trade(
                        symbol=s,
                        price=p,
                        size=rng.choice((1, 50, 100, 200, 1000)),
                        timestamp=t,
                        conditions=rng.choice(_CONDITIONS),
                        exchange=rng.randint(1, 20),
                    )
                )
            elif r < 0.995 or not sent_am:
                m = t - t % 60_000 - 60_000
                bar = MinuteAgg(
                    symbol=s,
                    open=p,
                    high=p + 0.03,
                    low=p - 0.03,
                    close=p,
                    volume=rng.randint(1, 50) * 100,
                    start=m,
                    end=m + 60_000,
                    day_volume=rng.choice((None, rng.randint(1, 10**6))),
                    day_open=rng.choice((None, p)),
                    vwap=p,
                    day_vwap=p,
                    avg_size=100,
                )
                sent_am.append(bar)
                frame.append(bar)
            else:  # a re-sent AM for a minute seen before, with new figures
                old = rng.choice(sent_am)
                frame.append(
                    MinuteAgg(
                        symbol=old.symbol,
                        open=old.open,
                        high=old.high + 0.01,
                        low=old.low,
                        close=old.close + 0.01,
                        volume=old.volume + 100,
                        start=old.start,
                        end=old.end,
                        vwap=old.vwap,
                        avg_size=100,
                    )
                )
            n += 1
        frames.append(frame)
    return frames


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_path_equals_reference(seed: int) -> None:
    frames = corpus(seed)
    fast = MarketState(tape_size=500, symbol_tape_size=100)
    ref = RefState()
    decoder = Decoder()
    for frame in frames:
        fast.apply(decoder.decode(encode(frame)), 0)  # through the wire format, as live
        ref.apply(frame)
    assert decoder.stats.error_total == 0
    assert set(fast.symbols) == set(ref.symbols)
    approx = pytest.approx
    for sym, r in ref.symbols.items():
        s = fast.get(sym)
        assert s is not None
        assert (s.bid, s.ask) == (r.bid, r.ask), sym
        assert (s.last, s.last_size, s.last_ms, s.tick) == (r.last, r.last_size, r.last_ms, r.tick)
        assert (s.open, s.high, s.low, s.prev_close) == (r.open, r.high, r.low, r.prev_close), sym
        assert s.volume == r.volume, sym
        if r.volume and r.pv == r.pv:
            assert s.vwap == approx(r.pv / r.volume), sym
        got = [
            (b.start_ms, b.open, b.high, b.low, b.close, b.volume, b.transactions)
            for b in fast.bars(sym, "1m")
        ]
        want = [
            (b.start_ms, b.open, b.high, b.low, b.close, b.volume, b.transactions) for b in r.bars()
        ]
        assert got == want, sym
        assert [b.vwap for b in fast.bars(sym, "1m")] == approx([b.vwap for b in r.bars()])
        tape = [(e.time_ms, e.price, e.size, e.side, e.tick, e.conditions) for e in s.trades]
        assert tape == r.tape[-100:], sym
    all_tape = [(e.symbol, e.time_ms, e.price, e.side, e.tick) for e in fast.tape.newest(100)]
    assert all_tape == ref.tape[::-1][:100]
    assert fast.tape.seq == len(ref.tape)
