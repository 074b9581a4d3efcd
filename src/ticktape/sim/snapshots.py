"""The simulator's stock snapshots: every ticker of its universe, and the day's top movers.

Read from figures the generated market keeps as it trades (today's bar, the live quote, the
previous day's bar), so the snapshot agrees with the stream and the aggregates and costs a read
per symbol. See docs/market-view.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final, NamedTuple

import msgspec

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
from ticktape.sim.model_engine import LiveSymbol

PATH: Final = re.compile(r"/v2/snapshot/locale/us/markets/stocks/(?P<what>tickers|gainers|losers)")
#: Symbols read between two yields of the server's loop (``RestApi``): about 5 ms of work.
SLICE: Final = 400
#: How many tickers the gainers and losers lists hold, and the volume a ticker needs to be one.
TOP: Final = 20
MIN_VOLUME: Final = 10_000


class _Day(NamedTuple):
    """What a snapshot of one symbol reads, from the figures the live market keeps."""

    st: LiveSymbol
    day: Agg | None
    prev: Agg | None
    last: float
    ref: float  # the day's close: the regular close after it, else the last price


def _bar(a: Agg) -> SnapshotBar:
    return SnapshotBar(a.open, a.high, a.low, a.close, a.volume, a.vwap)


def _day(market: SimMarket, symbol: str, after_close: bool) -> _Day | None:
    """One symbol's day, or None if it is not live. A read of kept figures, never of the
    minute history (``History.day_figures``): thousands are read per request, in the loop
    that feeds the stream."""
    st = market.live(symbol)
    if st is None:
        return None
    day, prev = market.day_figures(st)
    seconds = st.hist.live_seconds
    last = seconds[-1].close if seconds else day.close if day else round(st.mid) / st.scale
    # The day's change is the regular session's, as everywhere (feed.conditions.regular_close):
    # after the close it stays at the regular close, and the after-hours print is only the last.
    ref = day.close if day is not None and after_close else last
    return _Day(st, day, prev, last, ref)


def _change(d: _Day) -> float | None:
    if d.prev is None or d.prev.close <= 0:
        return None
    return round(100.0 * (d.ref / d.prev.close - 1.0), 6)


def _snapshot(d: _Day, now: int) -> TickerSnapshot:
    st, day, ref = d.st, d.day, d.ref
    snap = TickerSnapshot(st.sym, updated=now * 1_000_000)
    snap.last_quote = SnapshotQuote(st.bid / st.scale, 100.0, st.ask / st.scale, 100.0,
                                    now * 1_000_000)  # fmt: skip
    snap.last_trade = SnapshotTrade(d.last, 100.0, timestamp=now * 1_000_000)
    if day is not None:
        snap.day = _bar(day)
        snap.day.close = ref
    minutes = st.hist.live_minutes
    if minutes:
        m = minutes[-1]
        snap.minute = SnapshotBar(
            m.open, m.high, m.low, m.close, m.volume, m.vwap, snap.day.volume if snap.day else None,
            m.timestamp, m.transactions,
        )  # fmt: skip
    if d.prev is not None:
        snap.prev_day = _bar(d.prev)
        pct = _change(d)
        if pct is not None:
            snap.todays_change = round(ref - d.prev.close, 6)
            snap.todays_change_pct = pct
    return snap


def _after_close(now: int) -> bool:
    return now >= regular_session(now)[1]


def ticker_snapshot(market: SimMarket, symbol: str) -> TickerSnapshot | None:
    """One ticker's snapshot at the market's time, or None if it is not live."""
    now = market.now_ms
    d = _day(market, symbol, _after_close(now))
    return None if d is None else _snapshot(d, now)


def symbols_of(market: SimMarket, what: str, tickers: Iterable[str] = ()) -> list[str]:
    """The symbols a request reads: those asked for (``tickers`` only), else the universe."""
    wanted = [t.strip().upper() for t in tickers if t.strip()]
    return wanted if what == "tickers" and wanted else list(market.universe)


def read_days(market: SimMarket, symbols: Iterable[str]) -> list[_Day]:
    """The day figures of the live ``symbols`` at the market's time."""
    after = _after_close(market.now_ms)
    return [d for d in (_day(market, sym, after) for sym in symbols) if d is not None]


def body_of(days: list[_Day], what: str, now: int) -> SnapshotResponse:
    """The response from read figures: all of them, or the top movers."""
    if what != "tickers":
        # Rank on the figures alone and make snapshots of the top only.
        ranked = [
            (pct, d)
            for d in days
            if d.day is not None and d.day.volume >= MIN_VOLUME and (pct := _change(d)) is not None
        ]
        ranked.sort(key=lambda r: r[0], reverse=what == "gainers")
        days = [d for _, d in ranked[:TOP]]
    snaps = [_snapshot(d, now) for d in days]
    return SnapshotResponse("OK", len(snaps), snaps)


def encoded_slice(market: SimMarket, symbols: list[str]) -> tuple[int, bytes]:
    """How many of ``symbols`` are live, and their snapshots as JSON array elements (no
    brackets): a whole-universe body is made of these a slice at a time, so no single step
    of it holds the server's loop long."""
    days = read_days(market, symbols)
    return len(days), msgspec.json.encode([_snapshot(d, market.now_ms) for d in days])[1:-1]


def joined_body(parts: list[tuple[int, bytes]]) -> bytes:
    """The ``tickers`` body from :func:`encoded_slice` parts, byte for byte as a
    ``SnapshotResponse`` encodes it (its status "OK" is the default, so omitted)."""
    count = sum(n for n, _ in parts)
    items = b",".join(data for n, data in parts if n)
    return b'{"count":%d,"tickers":[%s]}' % (count, items)


def snapshot_body(market: SimMarket, what: str, tickers: Iterable[str] = ()) -> SnapshotResponse:
    """``tickers`` (all, or the ones asked for), ``gainers`` or ``losers``, in one go."""
    days = read_days(market, symbols_of(market, what, tickers))
    return body_of(days, what, market.now_ms)
