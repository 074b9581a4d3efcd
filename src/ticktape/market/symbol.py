"""Per-symbol state: last trade, NBBO, day figures, LULD band, rings and bars.

Slots with sentinels for the hot path; tiered depth. See docs/performance.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from ticktape.feed.conditions import ConditionCache
from ticktape.market.bars import Bar, BarRing
from ticktape.market.minutes import MinuteBars
from ticktape.market.tape import QuoteTape, TradeTape

#: Stands for "no forming bar": no minute starts at -1.
NO_BAR: Final = Bar(-1, 0.0, 0.0, 0.0, 0.0)

_NAN: Final = math.nan


def has_sessions(symbol: str) -> bool:
    """A stock trades in sessions (pre-market, regular, after-hours); forex pairs (``EUR/USD``)
    and crypto pairs (``BTC-USD``) trade around the clock."""
    return "/" not in symbol and "-" not in symbol


@dataclass(frozen=True, slots=True)
class Depth:
    """How much history a symbol keeps: capacities of its rings and bar stores."""

    trades: int  # per-symbol trade ring (>= 1)
    quotes: int  # per-symbol quote ring (0: quotes are not recorded)
    second_bars: int  # >= 1
    minute_bars: int  # >= 1


class SymbolState:
    """Everything known about one symbol (or forex/crypto pair)."""

    __slots__ = (
        "ask_px",
        "ask_sz",
        "bid_px",
        "bid_sz",
        "day_end_ms",
        "day_high",
        "day_low",
        "day_open",
        "deep",
        "fast",
        "fast_pv",
        "fast_v",
        "fbar",
        "halted",
        "index",
        "last_ms",
        "last_price",
        "last_size",
        "luld_high",
        "luld_low",
        "minutes",
        "open_official",
        "prev_close",
        "pv",
        "qcap",
        "quote_ms",
        "quote_ring",
        "seconds",
        "symbol",
        "tick",
        "trade_ring",
        "updated_ms",
        "version",
        "vol",
        "watched",
    )

    def __init__(
        self, symbol: str, index: int, conditions: ConditionCache, depth: Depth, deep: Depth
    ) -> None:
        self.symbol = symbol
        self.index = index  # position in the state's name list (the all-symbol tape stores it)
        self.last_price = _NAN
        self.last_size: float = 0
        self.last_ms = 0  # event time of the last eligible trade (or newer bar close)
        self.tick = 0
        self.bid_px = _NAN  # NaN: no quote yet
        self.ask_px = _NAN
        self.bid_sz: float = 0
        self.ask_sz: float = 0
        self.quote_ms = 0  # event time of the NBBO (0: none yet)
        self.day_open: float | None = None
        self.open_official = False  # day_open came from the server's `op`
        self.day_high = -math.inf
        self.day_low = math.inf
        self.vol: float = 0  # the day's volume, but for what ``fast`` gained since linked
        self.pv = 0.0  # sum of price × size of volume-eligible trades (for VWAP), likewise
        self.prev_close: float | None = None
        self.day_end_ms = 0  # end of the exchange-zone day the day stats belong to
        self.luld_high: float | None = None
        self.luld_low: float | None = None
        self.halted = False
        self.updated_ms = 0  # receive time (local clock) of the last event for this symbol
        self.version = 0
        # The stores, at ``depth`` (see the module docstring); the hot path writes to them.
        self.deep = deep
        self.watched = depth == deep
        self.trade_ring = TradeTape(depth.trades, conditions, symbol)
        # Quote history is usually kept only for watched symbols: quotes are half the
        # firehose and almost nobody looks at the quote tape of most symbols.
        self.quote_ring = QuoteTape(depth.quotes, symbol)
        self.qcap = self.quote_ring.cap  # the hot path's "record quotes?" (0: no)
        self.seconds = BarRing(depth.second_bars)
        self.minutes = MinuteBars(depth.minute_bars)
        self.fbar = NO_BAR  # the trade-built bar of the newest minute, updated in place
        self.fast = NO_BAR  # fbar while linked (the hot path may form it), else NO_BAR
        self.fast_v: float = 0  # fast's volume and pv when last folded into vol/pv
        self.fast_pv = 0.0

    def watch(self) -> None:
        """Keep deep history from now on; what the stores hold already is kept."""
        if self.watched:
            return
        self.watched = True
        deep = self.deep
        self.trade_ring.resize(deep.trades)
        self.quote_ring.resize(deep.quotes)
        self.qcap = self.quote_ring.cap
        self.seconds.resize(deep.second_bars)
        self.minutes.resize(deep.minute_bars)

    @property
    def trades(self) -> TradeTape:
        """This symbol's trade tape; reading it makes the symbol watched (deep history)."""
        self.watch()
        return self.trade_ring

    @property
    def quotes(self) -> QuoteTape:
        """This symbol's quote tape; reading it makes the symbol watched (quotes recorded)."""
        self.watch()
        return self.quote_ring

    # -- last trade -------------------------------------------------------

    @property
    def last(self) -> float | None:
        p = self.last_price
        return None if p != p else p

    # -- NBBO -------------------------------------------------------------

    @property
    def bid(self) -> float | None:
        b = self.bid_px
        return None if b != b else b

    @property
    def ask(self) -> float | None:
        a = self.ask_px
        return None if a != a else a

    @property
    def bid_size(self) -> float | None:
        return None if self.bid_px != self.bid_px else self.bid_sz

    @property
    def ask_size(self) -> float | None:
        return None if self.bid_px != self.bid_px else self.ask_sz

    @property
    def spread(self) -> float | None:
        spread = self.ask_px - self.bid_px
        return None if spread != spread else spread

    @property
    def mid(self) -> float | None:
        mid = (self.ask_px + self.bid_px) / 2
        return None if mid != mid else mid

    # -- day --------------------------------------------------------------

    @property
    def open(self) -> float | None:
        return self.day_open

    @property
    def high(self) -> float | None:
        return None if self.day_high == -math.inf else self.day_high

    @property
    def low(self) -> float | None:
        return None if self.day_low == math.inf else self.day_low

    @property
    def volume(self) -> float:
        """The day's volume (eligible trades, or the server's ``av`` when larger)."""
        return self.vol + (self.fast.volume - self.fast_v)

    @property
    def vwap(self) -> float | None:
        volume = self.volume
        return (self.pv + (self.fast.pv - self.fast_pv)) / volume if volume else None

    @property
    def change(self) -> float | None:
        last, prev = self.last, self.prev_close
        return None if last is None or prev is None else last - prev

    @property
    def change_pct(self) -> float | None:
        change, prev = self.change, self.prev_close
        return None if change is None or not prev else change / prev * 100.0

    def __repr__(self) -> str:
        return (
            f"SymbolState({self.symbol} last={self.last} bid={self.bid} ask={self.ask} "
            f"o={self.open} h={self.high} l={self.low} v={self.volume} ver={self.version})"
        )
