"""The stock snapshot REST bodies: every ticker's day so far, and the day's gainers and losers.

``/v2/snapshot/locale/us/markets/stocks/tickers`` and ``…/gainers``, ``…/losers``; the movers
board is seeded from them. See docs/market-view.md.
"""

from __future__ import annotations

from typing import Final

import msgspec
from msgspec import field

#: Where the stock snapshots live, relative to the REST base URL.
SNAPSHOT_PATH: Final = "v2/snapshot/locale/us/markets/stocks"
DIRECTIONS: Final = ("gainers", "losers")


class SnapshotBar(msgspec.Struct, omit_defaults=True, gc=False):
    """A day (or the previous day) so far: ``o h l c v vw``; the newest minute adds ``av t n``."""

    open: float = field(name="o", default=0.0)
    high: float = field(name="h", default=0.0)
    low: float = field(name="l", default=0.0)
    close: float = field(name="c", default=0.0)
    volume: float = field(name="v", default=0.0)
    vwap: float | None = field(name="vw", default=None)
    accumulated: float | None = field(name="av", default=None)  # the day's volume (``min``)
    timestamp: int | None = field(name="t", default=None)
    transactions: int | None = field(name="n", default=None)


class SnapshotQuote(msgspec.Struct, omit_defaults=True, gc=False):
    """The newest NBBO: lower-case letters are the bid, upper-case the ask."""

    bid: float = field(name="p", default=0.0)
    bid_size: float = field(name="s", default=0.0)
    ask: float = field(name="P", default=0.0)
    ask_size: float = field(name="S", default=0.0)
    timestamp: int | None = field(name="t", default=None)


class SnapshotTrade(msgspec.Struct, omit_defaults=True, gc=False):
    """The newest trade."""

    price: float = field(name="p", default=0.0)
    size: float = field(name="s", default=0.0)
    exchange: int | None = field(name="x", default=None)
    conditions: list[int] | None = field(name="c", default=None)
    id: str | None = field(name="i", default=None)
    timestamp: int | None = field(name="t", default=None)


class TickerSnapshot(msgspec.Struct, omit_defaults=True, gc=False):
    """One ticker's snapshot; any part may be missing (a ticker that has not traded today)."""

    ticker: str
    todays_change: float | None = field(name="todaysChange", default=None)
    todays_change_pct: float | None = field(name="todaysChangePerc", default=None)
    updated: int | None = None
    day: SnapshotBar | None = None
    prev_day: SnapshotBar | None = field(name="prevDay", default=None)
    minute: SnapshotBar | None = field(name="min", default=None)
    last_quote: SnapshotQuote | None = field(name="lastQuote", default=None)
    last_trade: SnapshotTrade | None = field(name="lastTrade", default=None)

    @property
    def last(self) -> float | None:
        """The newest price: the last trade, else the day's (or the minute's) close."""
        for price in (
            self.last_trade.price if self.last_trade else 0.0,
            self.day.close if self.day else 0.0,
            self.minute.close if self.minute else 0.0,
        ):
            if price > 0:
                return price
        return None


class SnapshotResponse(msgspec.Struct, omit_defaults=True):
    """The body of the snapshot endpoints; ``tickers`` may be missing or null."""

    status: str = "OK"
    count: int | None = None
    tickers: list[TickerSnapshot] | None = None


snapshot_decoder: Final = msgspec.json.Decoder(SnapshotResponse)
