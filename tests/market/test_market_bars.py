"""Minute bars: AM authority, seed/live join, resampling, bounds."""

from __future__ import annotations

import random

import pytest

from ticktape.feed.events import Agg, MinuteAgg, SecondAgg, Trade
from ticktape.market import MarketState
from ticktape.market.bars import Bar, day_bounds
from ticktape.market.minutes import MinuteBars

M = 60_000
T0 = 1_700_000_040_000  # a minute boundary (2023-11-14 22:14 UTC)


def trade(price: float, t: int, size: int = 100, conditions: tuple[int, ...] = ()) -> Trade:
    return Trade(symbol="X", price=price, size=size, timestamp=t, conditions=conditions)


def am(start: int, close: float, volume: int = 1_000) -> MinuteAgg:
    return MinuteAgg(
        symbol="X",
        open=close - 1,
        high=close + 1,
        low=close - 2,
        close=close,
        volume=volume,
        start=start,
        end=start + M,
        vwap=close,
    )


def ohlcv(b: Bar) -> tuple[float, float, float, float, float]:
    return (b.open, b.high, b.low, b.close, b.volume)


def test_trades_build_the_forming_minute() -> None:
    st = MarketState()
    st.apply([trade(10, T0), trade(12, T0 + 1), trade(9, T0 + 2), trade(11, T0 + 3)], 0)
    (b,) = st.bars("X", "1m")
    assert b.start_ms == T0 and ohlcv(b) == (10, 12, 9, 11, 400) and b.transactions == 4
    assert b.vwap == pytest.approx(10.5)


def test_am_replaces_trade_built_bar_and_later_trades_do_not_change_it() -> None:
    st = MarketState()
    st.apply([trade(10, T0), trade(12, T0 + 1)], 0)
    st.apply([am(T0, 20)], 0)
    st.apply([trade(99, T0 + 5)], 0)  # a late print for the same minute
    (b,) = st.bars("X", "1m")
    assert ohlcv(b) == (19, 21, 18, 20, 1_000)
    st.apply([trade(30, T0 + M)], 0)  # the next minute forms normally
    assert [ohlcv(b)[3] for b in st.bars("X", "1m")] == [20, 30]


def test_resent_am_replaces_the_earlier_one() -> None:
    st = MarketState()
    st.apply([am(T0, 20), am(T0 + M, 21)], 0)
    st.apply([am(T0, 25, volume=1_500)], 0)
    assert [(b.start_ms, b.close, b.volume) for b in st.bars("X", "1m")] == [
        (T0, 25, 1_500),
        (T0 + M, 21, 1_000),
    ]


def test_seed_and_live_join_without_gap_or_double() -> None:
    st = MarketState()
    # live: trades in minutes 10 and 11 (completed), 12 (forming); an AM for minute 11
    st.apply([trade(10, T0 + 10 * M), trade(11, T0 + 11 * M), trade(12, T0 + 12 * M)], 0)
    st.apply([am(T0 + 11 * M, 50)], 0)
    seed = [
        Agg(open=k, high=k + 1, low=k - 1, close=k, volume=500, timestamp=T0 + k * M)
        for k in range(5, 13)  # REST history overlapping the live minutes 10-12
    ]
    st.seed_bars("X", seed, prev_close=4.0)
    bars = st.bars("X", "1m")
    assert [b.start_ms for b in bars] == [T0 + k * M for k in range(5, 13)]  # one per minute
    by_minute = {(b.start_ms - T0) // M: b for b in bars}
    assert by_minute[10].volume == 500  # REST replaces a completed trade-built minute
    assert by_minute[11].close == 50  # the AM bar is kept
    assert by_minute[12].volume == 100  # the forming minute stays live...
    st.apply([trade(13, T0 + 12 * M + 1)], 0)
    assert st.bars("X", "1m")[-1].close == 13  # ...and keeps forming
    s = st.get("X")
    assert s is not None and s.prev_close == 4.0 and s.change == pytest.approx(9.0)


def test_seed_before_live_sets_last_and_day_stats() -> None:
    st = MarketState()
    start, _ = day_bounds(T0)
    seed = [
        Agg(open=10, high=11, low=9, close=10.5, volume=100, timestamp=start + 600 * M),
        Agg(open=10.5, high=12, low=10, close=11.5, volume=300, timestamp=start + 601 * M),
    ]
    st.seed_bars("X", seed)
    s = st.get("X")
    assert s is not None
    assert (s.last, s.open, s.high, s.low, s.volume) == (11.5, 10, 12, 9, 400)


def test_seed_is_bounded() -> None:
    st = MarketState(minute_bars=100)
    st.seed_bars(
        "X", [Agg(open=1, high=1, low=1, close=1, volume=1, timestamp=k * M) for k in range(500)]
    )
    bars = st.bars("X", "1m")
    assert len(bars) == 100 and bars[0].start_ms == 400 * M


def test_live_history_is_bounded() -> None:
    mb = MinuteBars(cap=50)
    for k in range(1_000):
        mb.trade(k * M, 1.0, 1, 7)
    bars = mb.resample(1)
    assert 50 - 50 // 64 - 1 <= len(bars) <= 50 + 1  # the packed bars and the forming one
    assert bars[-1].start_ms == 999 * M


def naive_resample(
    bars: list[Bar], width_ms: int
) -> list[tuple[int, float, float, float, float, float]]:
    groups: dict[int, list[Bar]] = {}
    for b in bars:
        groups.setdefault(b.start_ms - b.start_ms % width_ms, []).append(b)
    return [
        (
            k,
            g[0].open,
            max(b.high for b in g),
            min(b.low for b in g),
            g[-1].close,
            sum(b.volume for b in g),
        )
        for k, g in sorted(groups.items())
    ]


def as_tuples(bars: list[Bar]) -> list[tuple[int, float, float, float, float, float]]:
    return [(b.start_ms, *ohlcv(b)) for b in bars]


@pytest.mark.parametrize(("timeframe", "minutes"), [("5m", 5), ("15m", 15), ("1h", 60)])
def test_resampling_matches_naive_grouping_and_stays_right_incrementally(
    timeframe: str, minutes: int
) -> None:
    rng = random.Random(minutes)
    st = MarketState()
    t = T0
    for _ in range(40):  # build, read, change (forming, then an old minute), read again
        frame = []
        for _ in range(rng.randint(1, 30)):
            t += rng.randint(0, 20_000)
            frame.append(trade(round(rng.uniform(10, 20), 2), t, rng.randint(1, 9) * 100))
        st.apply(frame, 0)
        if rng.random() < 0.3:
            old = st.bars("X", "1m")[rng.randrange(len(st.bars("X", "1m")))].start_ms
            st.apply([am(old, round(rng.uniform(10, 20), 2))], 0)
        got = st.bars("X", timeframe)
        assert as_tuples(got) == naive_resample(st.bars("X", "1m"), minutes * M)


def test_daily_bars_group_by_exchange_day() -> None:
    st = MarketState()
    start, end = day_bounds(T0)
    st.seed_bars(
        "X",
        [
            Agg(open=1, high=2, low=1, close=2, volume=10, timestamp=start + 600 * M),
            Agg(open=2, high=3, low=2, close=3, volume=10, timestamp=end - M),
            Agg(open=5, high=6, low=4, close=5, volume=10, timestamp=end + 600 * M),
        ],
    )
    days = st.bars("X", "1D")
    assert [(b.start_ms, b.open, b.close, b.volume) for b in days] == [
        (start, 1, 3, 20),
        (end, 5, 5, 10),
    ]


def test_second_bars_from_a_events() -> None:
    st = MarketState()
    st.apply(
        [
            SecondAgg(symbol="X", open=1, high=2, low=1, close=2, volume=5, start=T0 + k * 1000)
            for k in range(3)
        ],
        0,
    )
    assert [b.start_ms for b in st.bars("X", "1s")] == [T0, T0 + 1000, T0 + 2000]
    with pytest.raises(ValueError, match="timeframe"):
        st.bars("X", "7m")
    assert st.bars("NOPE", "1m") == []
