"""Daily history: seeded daily bars join the minute-built days of the "1D" timeframe."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from ticktape.feed.events import Agg
from ticktape.market import Bar, MarketState
from ticktape.timeutil import zone

NY = zone("America/New_York")
TODAY = date(2026, 3, 20)  # a Friday; DST began 8 March, so the join also crosses a DST change


def ny_ms(d: date, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(d.year, d.month, d.day, hour, minute, tzinfo=NY).timestamp() * 1000)


def daily(d: date, price: float, *, utc: bool = False) -> Agg:
    """A REST daily bar: stocks start at New York midnight, forex/crypto at UTC midnight."""
    t = int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000) if utc else ny_ms(d)
    return Agg(price, price + 2, price - 2, price + 1, 1_000, t)


def minutes(d: date, start_hour: int, n: int, price: float) -> list[Bar]:
    t0 = ny_ms(d, start_hour)
    return [Bar(t0 + i * 60_000, price, price + 1, price - 1, price, 10) for i in range(n)]


def days(n: int, last: date = TODAY) -> list[date]:
    return [last - timedelta(days=k) for k in range(n - 1, -1, -1)]


def starts(bars: list[Bar]) -> list[int]:
    return [b.start_ms for b in bars]


def test_daily_history_joins_minute_days_with_each_day_once() -> None:
    state = MarketState()
    # minutes from 14:00 two days back (the seed window cuts that day short) to today
    d2, d1 = TODAY - timedelta(days=2), TODAY - timedelta(days=1)
    state.seed_bars("AAPL", minutes(d2, 14, 60, 50.0) + minutes(d1, 9, 60, 60.0))
    state.seed_bars("AAPL", minutes(TODAY, 9, 30, 70.0))
    state.seed_daily("AAPL", [daily(d, 10.0 + i) for i, d in enumerate(days(60))])

    got = state.bars("AAPL", "1D")

    assert starts(got) == [ny_ms(d) for d in days(60)]  # every day once, in order, no gap
    by_day = {b.start_ms: b for b in got}
    # the cut-short first minute day is the official daily bar, not 14:00-15:00 alone
    assert by_day[ny_ms(d2)].open == 10.0 + 57 and by_day[ny_ms(d2)].volume == 1_000
    # complete minute days come from the minutes (today's keeps following live trades)
    assert by_day[ny_ms(d1)].open == 60.0 and by_day[ny_ms(d1)].volume == 600
    assert by_day[ny_ms(TODAY)].open == 70.0 and by_day[ny_ms(TODAY)].volume == 300


def test_days_the_minutes_cover_are_not_doubled_when_daily_stops_earlier() -> None:
    state = MarketState()
    state.seed_bars("MSFT", minutes(TODAY - timedelta(days=1), 9, 10, 60.0))
    state.seed_bars("MSFT", minutes(TODAY, 9, 10, 70.0))
    state.seed_daily("MSFT", [daily(d, 10.0) for d in days(20, TODAY - timedelta(days=3))])

    got = starts(state.bars("MSFT", "1D"))

    assert got == sorted(set(got))
    assert got == [ny_ms(d) for d in days(20, TODAY - timedelta(days=3))] + [
        ny_ms(TODAY - timedelta(days=1)),
        ny_ms(TODAY),
    ]


def test_a_lone_live_day_is_kept_over_its_stale_daily_bar() -> None:
    state = MarketState()
    state.seed_bars("NVDA", minutes(TODAY, 9, 10, 70.0))
    state.seed_daily("NVDA", [daily(d, 10.0) for d in days(5)])

    got = state.bars("NVDA", "1D")

    assert starts(got) == [ny_ms(d) for d in days(5)]
    assert got[-1].open == 70.0  # today from the minutes, not the REST snapshot of it


def test_daily_history_is_bounded_sorted_and_reseeding_replaces_days() -> None:
    state = MarketState(daily_bars=50)
    all_days = days(120)
    state.seed_daily("AAPL", [daily(d, 10.0) for d in reversed(all_days)])  # any order
    state.seed_daily("AAPL", [daily(TODAY, 99.0)])

    got = state.bars("AAPL", "1D")

    assert starts(got) == [ny_ms(d) for d in all_days[-50:]]  # the newest 50, oldest first
    assert got[-1].open == 99.0


def test_utc_midnight_daily_bars_land_on_their_own_date() -> None:
    state = MarketState()
    state.seed_daily("BTC-USD", [daily(d, 10.0, utc=True) for d in days(10)])

    assert starts(state.bars("BTC-USD", "1D")) == [ny_ms(d) for d in days(10)]


def test_daily_bars_only_change_the_daily_timeframe_and_bump_the_version() -> None:
    state = MarketState()
    state.seed_bars("AAPL", minutes(TODAY, 9, 120, 70.0))
    before = {tf: starts(state.bars("AAPL", tf)) for tf in ("1m", "5m", "1h")}
    version = state.version

    state.seed_daily("AAPL", [daily(d, 10.0) for d in days(30)])

    assert {tf: starts(state.bars("AAPL", tf)) for tf in ("1m", "5m", "1h")} == before
    assert state.changed_since(version) == {"AAPL"}
    assert len(state.bars("AAPL", "1D")) == 30
