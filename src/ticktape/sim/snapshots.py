"""The simulator's stock snapshots: every ticker of its universe, and the day's top movers.

Built from the generated market itself (today's bars, the live quote, yesterday's close), so
the snapshot agrees with the stream and the aggregates. See docs/market-view.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from typing import Final

from ticktape.feed.conditions import regular_session
from ticktape.feed.events import Agg
from ticktape.feed.snapshot import (
    SnapshotBar,
    SnapshotQuote,
    SnapshotResponse,
    SnapshotTrade,
    TickerSnapshot,
)
from ticktape.sim.market import SimMarket
from ticktape.sim.model_calendar import day_start, et_date

PATH: Final = re.compile(r"/v2/snapshot/locale/us/markets/stocks/(?P<what>tickers|gainers|losers)")
#: How many tickers the gainers and losers lists hold, and the volume a ticker needs to be one.
TOP: Final = 20
MIN_VOLUME: Final = 10_000
#: How far back the previous trading day may be: a weekend (the simulator has no holidays).
#: Not a week: thousands of symbols each generating a week of history would take seconds.
PREV_DAY_BACK: Final = 3


def _bar(a: Agg) -> SnapshotBar:
    return SnapshotBar(a.open, a.high, a.low, a.close, a.volume, a.vwap)


def ticker_snapshot(market: SimMarket, symbol: str) -> TickerSnapshot | None:
    """One ticker's snapshot at the market's time, or None if it has no history yet."""
    st = market.live(symbol)
    if st is None:
        return None
    now = market.now_ms
    today = day_start(et_date(now))
    before = market.history(
        symbol, 1, "day", day_start(et_date(now) - timedelta(days=PREV_DAY_BACK)), today - 1
    )
    days = market.history(symbol, 1, "day", today, now)
    scale = st.scale
    bid, ask = st.bid / scale, st.ask / scale
    seconds = st.hist.live_seconds
    last = seconds[-1].close if seconds else days[-1].close if days else round(st.mid) / scale
    snap = TickerSnapshot(symbol, updated=now * 1_000_000)
    snap.last_quote = SnapshotQuote(bid, 100.0, ask, 100.0, now * 1_000_000)
    snap.last_trade = SnapshotTrade(last, 100.0, timestamp=now * 1_000_000)
    # The day's change is the regular session's, as everywhere (feed.conditions.regular_close):
    # after the close it stays at the regular close, and the after-hours print is only the last.
    ref = days[-1].close if days and now >= regular_session(now)[1] else last
    if days:
        snap.day = _bar(days[-1])
        snap.day.close = ref
    minutes = st.hist.live_minutes
    if minutes:
        m = minutes[-1]
        snap.minute = SnapshotBar(
            m.open, m.high, m.low, m.close, m.volume, m.vwap, snap.day.volume if snap.day else None,
            m.timestamp, m.transactions,
        )  # fmt: skip
    if before:
        snap.prev_day = _bar(before[-1])
        prev = before[-1].close
        if prev > 0:
            snap.todays_change = round(ref - prev, 6)
            snap.todays_change_pct = round(100.0 * (ref / prev - 1.0), 6)
    return snap


def snapshot_body(market: SimMarket, what: str, tickers: Iterable[str] = ()) -> SnapshotResponse:
    """``tickers`` (all, or the ones asked for), ``gainers`` or ``losers``."""
    wanted = [t.strip().upper() for t in tickers if t.strip()]
    symbols = wanted if what == "tickers" and wanted else market.universe
    snaps = [s for s in (ticker_snapshot(market, sym) for sym in symbols) if s is not None]
    if what != "tickers":
        movers = [
            s
            for s in snaps
            if s.todays_change_pct is not None and s.day is not None and s.day.volume >= MIN_VOLUME
        ]
        movers.sort(key=lambda s: s.todays_change_pct or 0.0, reverse=what == "gainers")
        snaps = movers[:TOP]
    return SnapshotResponse("OK", len(snaps), snaps)
