"""Per-symbol state: last trade, NBBO, day statistics, LULD band, rings and bars.

Slotted and written to directly by the state's hot path (state.py), so the raw
slots hold "unknown" as values that make the hot path's comparisons work
without ``None`` checks: ``last_price`` NaN (every comparison is False, so the
first trade's tick is 0), ``day_high`` -inf, ``day_low`` +inf, and ``quote`` a
shared empty Quote whose bid/ask are 0 (never at or beyond any price).
Readers use the properties, which turn those back into ``None``.
"""

from __future__ import annotations

import math
from typing import Final

from ticktape.feed.conditions import ConditionCache
from ticktape.feed.events import Quote
from ticktape.market.bars import Bar, MinuteBars
from ticktape.market.tape import ObjectRing, QuoteTape, TradeTape

#: Stands for "no quote yet": bid and ask 0, so no trade classifies against it.
NO_QUOTE: Final = Quote(symbol="", bid=0.0, ask=0.0, timestamp=0)
#: Stands for "no forming bar": no minute starts at -1.
NO_BAR: Final = Bar(-1, 0.0, 0.0, 0.0, 0.0)

_NAN: Final = math.nan


class SymbolState:
    """Everything known about one symbol (or forex/crypto pair)."""

    __slots__ = (
        "day_end_ms",
        "day_high",
        "day_low",
        "day_open",
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
        "quote",
        "quote_ring",
        "seconds",
        "symbol",
        "tick",
        "trades",
        "updated_ms",
        "version",
        "volume",
    )

    def __init__(
        self,
        symbol: str,
        index: int,
        conditions: ConditionCache,
        *,
        tape_size: int = 2_000,
        quote_size: int = 256,
        record_quotes: bool = False,
        second_bars: int = 3_600,
        minute_bars: int = 20_000,
    ) -> None:
        self.symbol = symbol
        self.index = index  # position in the state's name list (the all-symbol tape stores it)
        self.last_price = _NAN
        self.last_size: float = 0
        self.last_ms = 0  # event time of the last eligible trade (or newer bar close)
        self.tick = 0
        self.quote: Quote = NO_QUOTE
        self.day_open: float | None = None
        self.open_official = False  # day_open came from the server's `op`
        self.day_high = -math.inf
        self.day_low = math.inf
        self.volume: float = 0
        self.pv = 0.0  # sum of price × size of volume-eligible trades (for VWAP)
        self.prev_close: float | None = None
        self.day_end_ms = 0  # end of the exchange-zone day the day stats belong to
        self.luld_high: float | None = None
        self.luld_low: float | None = None
        self.halted = False
        self.updated_ms = 0  # receive time (local clock) of the last event for this symbol
        self.version = 0
        self.trades = TradeTape(tape_size, conditions, symbol)
        self.quote_ring = QuoteTape(quote_size, symbol)
        # Quote history is kept only once someone reads it (see ``quotes``): quotes are
        # half the firehose and almost nobody looks at the quote tape of most symbols.
        self.qcap = self.quote_ring.cap if record_quotes and quote_size > 0 else 0
        self.seconds: ObjectRing[Bar] = ObjectRing(second_bars)
        self.minutes = MinuteBars(minute_bars)
        self.fbar = NO_BAR  # the trade-built bar of the newest minute, updated in place

    @property
    def quotes(self) -> QuoteTape:
        """This symbol's quote tape; reading it starts recording quotes from now on."""
        if not self.qcap:
            self.qcap = self.quote_ring.cap
        return self.quote_ring

    # -- last trade -------------------------------------------------------

    @property
    def last(self) -> float | None:
        p = self.last_price
        return None if p != p else p

    # -- NBBO -------------------------------------------------------------

    @property
    def bid(self) -> float | None:
        q = self.quote
        return None if q is NO_QUOTE else q.bid

    @property
    def ask(self) -> float | None:
        q = self.quote
        return None if q is NO_QUOTE else q.ask

    @property
    def bid_size(self) -> float | None:
        q = self.quote
        return None if q is NO_QUOTE else q.bid_size

    @property
    def ask_size(self) -> float | None:
        q = self.quote
        return None if q is NO_QUOTE else q.ask_size

    @property
    def quote_ms(self) -> int:
        return self.quote.timestamp

    @property
    def spread(self) -> float | None:
        q = self.quote
        return None if q is NO_QUOTE else q.ask - q.bid

    @property
    def mid(self) -> float | None:
        q = self.quote
        return None if q is NO_QUOTE else (q.ask + q.bid) / 2

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
    def vwap(self) -> float | None:
        return self.pv / self.volume if self.volume else None

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
