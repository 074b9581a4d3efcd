"""Synthetic history: the join with live, determinism, sessions, agreement across resolutions."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest

from ticktape.feed.conditions import is_regular_hours
from ticktape.feed.events import Agg, MinuteAgg, Trade
from ticktape.sim.history import LEAD_MS
from ticktape.sim.market import SimMarket
from ticktape.sim.model_calendar import ET, day_start
from ticktape.sim.symbols import profile, split_ticker

START = int(datetime(2025, 6, 11, 18, 30, 15, 500_000, tzinfo=UTC).timestamp() * 1000)
ANCHOR = START - START % 60_000
DAY = 86_400_000


def market(cluster: str = "stocks", seed: int = 5, **kw: object) -> SimMarket:
    syms = {"stocks": ["AAPL", "ZZZQ"], "forex": ["EUR/USD"], "crypto": ["BTC-USD"]}[cluster]
    return SimMarket(cluster, seed=seed, symbols=syms, rate=200.0, start_ms=START, **kw)  # type: ignore[arg-type]


def values(bars: list[Agg]) -> list[tuple[object, ...]]:
    return [(b.timestamp, b.open, b.high, b.low, b.close, b.volume, b.vwap) for b in bars]


@pytest.mark.parametrize(
    ("cluster", "ticker"), [("stocks", "AAPL"), ("forex", "C:EURUSD"), ("crypto", "X:BTCUSD")]
)
def test_newest_historical_minute_ends_at_live_start_at_the_live_price(
    cluster: str, ticker: str
) -> None:
    m = market(cluster)
    bars = m.history(ticker, 1, "minute", START - 3_600_000, START)
    assert bars[-1].timestamp + 60_000 == ANCHOR
    assert len(bars) == 60  # lead-in: every minute trades
    start_price = profile(cluster, split_ticker(ticker)[1], 5).price
    assert bars[-1].close == start_price


def test_first_live_trade_is_near_the_last_historical_close() -> None:
    m = market()
    last = m.history("AAPL", 1, "minute", START - 120_000, START)[-1]
    first = next(
        e for e in m.advance(START + 60_000) if isinstance(e, Trade) and e.symbol == "AAPL"
    )
    assert first.price == pytest.approx(last.close, abs=0.10)


def test_live_minute_bars_are_what_rest_returns() -> None:
    m = market(speed=30.0)
    sent = [e for w in range(1, 21) for e in m.advance(START + w * 500) if isinstance(e, MinuteAgg)]
    aapl = [b for b in sent if b.symbol == "AAPL"]
    assert len(aapl) >= 4
    rest = m.history("AAPL", 1, "minute", ANCHOR, m.now_ms)
    live = [(b.start, b.open, b.high, b.low, b.close, b.volume, b.vwap) for b in aapl]
    assert values(rest) == live
    assert all(r.transactions for r in rest)


def test_history_is_deterministic_whatever_was_asked_first() -> None:
    a, b = market(), market()
    a_days = a.history("ZZZQ", 1, "day", START - 400 * DAY, START)
    a_mins = a.history("ZZZQ", 1, "minute", START - 3 * DAY, START)
    b_mins = b.history("ZZZQ", 1, "minute", START - 3 * DAY, START)
    b_days = b.history("ZZZQ", 1, "day", START - 400 * DAY, START)
    assert values(a_days) == values(b_days) and len(a_days) > 250
    assert values(a_mins) == values(b_mins)
    other = market(seed=6).history("ZZZQ", 1, "day", START - 400 * DAY, START)
    assert values(other) != values(a_days)


def test_stock_minutes_trade_only_in_sessions_before_the_lead_in() -> None:
    bars = market().history("AAPL", 1, "minute", START - 10 * DAY, START)
    lead_start = ANCHOR - LEAD_MS
    for b in bars:
        when = datetime.fromtimestamp(b.timestamp / 1000, tz=ET)
        if b.timestamp < lead_start:
            assert when.weekday() < 5 and 4 <= when.hour < 20, when
    assert sum(b.timestamp >= lead_start for b in bars) == LEAD_MS // 60_000


def test_day_bars_agree_with_their_minutes_and_sit_at_et_midnight() -> None:
    m = market()
    days = m.history("AAPL", 1, "day", START - 20 * DAY, START)
    assert all(datetime.fromtimestamp(d.timestamp / 1000, tz=ET).hour == 0 for d in days)
    after_hours = 0
    for d in days[-5:]:  # includes the live day, which is merged from minutes
        mins = m.history("AAPL", 1, "minute", d.timestamp, d.timestamp + DAY - 1)
        # A daily bar closes at the regular session's close (its 15:59 minute), as Polygon's
        # do, not at the after-hours minutes that follow it.
        regular = [b for b in mins if is_regular_hours(b.timestamp)]
        assert (d.open, d.close) == (mins[0].open, regular[-1].close)
        after_hours += mins[-1].close != regular[-1].close
        assert d.high == max(b.high for b in mins) and d.low == min(b.low for b in mins)
        assert d.volume == sum(b.volume for b in mins)
        assert d.transactions == sum(b.transactions or 0 for b in mins)
    assert after_hours  # the after-hours minutes moved on, and the daily close did not follow


def test_hours_weeks_and_seconds_resample_consistently() -> None:
    m = market()
    mins = m.history("AAPL", 1, "minute", START - DAY, START)
    hours = m.history("AAPL", 1, "hour", START - DAY, START)
    for h in hours[1:-1]:
        inside = [b for b in mins if h.timestamp <= b.timestamp < h.timestamp + 3_600_000]
        assert (h.open, h.close, h.volume) == (
            inside[0].open,
            inside[-1].close,
            sum(b.volume for b in inside),
        )
    weeks = m.history("AAPL", 1, "week", START - 60 * DAY, START)
    for w in weeks:
        start = datetime.fromtimestamp(w.timestamp / 1000, tz=ET)
        assert start.weekday() == 6 and start.hour == 0  # Sunday ET midnight
    minute = mins[-30]
    secs = m.history("AAPL", 1, "second", minute.timestamp, minute.timestamp + 59_999)
    assert secs and (secs[0].open, secs[-1].close) == (minute.open, minute.close)
    assert max(s.high for s in secs) == minute.high and min(s.low for s in secs) == minute.low
    assert sum(s.volume for s in secs) == minute.volume


def test_forex_skips_weekends_and_crypto_never_sleeps() -> None:
    fx = market("forex").history("C:EURUSD", 1, "day", START - 30 * DAY, START)
    assert all(datetime.fromtimestamp(d.timestamp / 1000, tz=ET).weekday() < 5 for d in fx)
    btc = market("crypto").history("X:BTCUSD", 1, "day", START - 30 * DAY, START)
    assert len(btc) == 31
    assert {d.timestamp for d in btc} == {
        day_start(date(2025, 6, 11) - timedelta(days=i)) for i in range(31)
    }


def test_six_months_of_minutes_is_quick() -> None:
    m = market()
    t0 = time.perf_counter()
    bars = m.history("AAPL", 1, "minute", START - 183 * DAY, START)
    elapsed = time.perf_counter() - t0
    print(f"6 months of minutes: {len(bars)} bars in {elapsed:.2f}s")
    assert 100_000 < len(bars) < 140_000
    assert elapsed < 10  # ~0.4 s unloaded; generous for a busy 2-core machine
    assert all(a.timestamp < b.timestamp for a, b in pairwise(bars))


def test_bad_requests_are_empty() -> None:
    m = market()
    assert m.history("AAPL", 1, "fortnight", START - DAY, START) == []
    assert m.history("AAPL", 0, "minute", START - DAY, START) == []
    assert m.history("AAPL", 1, "minute", START, START - DAY) == []
