"""Bars: the :class:`Bar` object, the packed second-bar ring, exchange-zone days.

Bar sources rank AM > SEED > TRADES. See docs/architecture.md (history from REST).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Final

from ticktape.feed.events import Agg
from ticktape.market.tape import PackedRing
from ticktape.timeutil import EXCHANGE_TZ, zone

SEED: Final = 0
TRADES: Final = 1
AM: Final = 2

MINUTE_MS: Final = 60_000

#: Timeframe → minutes per bar (``"1D"`` groups by exchange-zone calendar day).
TIMEFRAMES: Final[dict[str, int]] = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "1D": 1440}

_INF: Final = math.inf


class Bar:
    """One OHLCV bar. ``vwap`` is derived from the price×volume sum ``pv``."""

    __slots__ = (
        "close",
        "high",
        "low",
        "open",
        "pv",
        "source",
        "start_ms",
        "transactions",
        "volume",
    )

    def __init__(
        self,
        start_ms: int,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float = 0,
        vwap: float | None = None,
        transactions: int = 0,
        source: int = TRADES,
    ) -> None:
        self.start_ms = start_ms
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.pv = (vwap if vwap is not None else close) * volume
        self.transactions = transactions
        self.source = source

    @property
    def vwap(self) -> float:
        return self.pv / self.volume if self.volume else self.close

    @classmethod
    def from_agg(cls, agg: Agg, source: int = SEED) -> Bar:
        return cls(
            agg.timestamp,
            agg.open,
            agg.high,
            agg.low,
            agg.close,
            agg.volume,
            agg.vwap,
            agg.transactions or 0,
            source,
        )

    def copy(self) -> Bar:
        b = Bar(self.start_ms, self.open, self.high, self.low, self.close, 0, None, 0, self.source)
        b.volume, b.pv, b.transactions = self.volume, self.pv, self.transactions
        return b

    def same(self, other: Bar) -> bool:
        """Equal OHLCV/vwap/count (used by tests and the reference comparison)."""
        return (
            self.start_ms == other.start_ms
            and (self.open, self.high, self.low, self.close)
            == (other.open, other.high, other.low, other.close)
            and self.volume == other.volume
            and self.transactions == other.transactions
            and math.isclose(self.vwap, other.vwap, rel_tol=1e-9, abs_tol=1e-9)
        )

    def __repr__(self) -> str:
        return (
            f"Bar({self.start_ms} o={self.open} h={self.high} l={self.low} c={self.close} "
            f"v={self.volume} n={self.transactions} src={self.source})"
        )


def day_bounds(ms: int, tz: str = EXCHANGE_TZ) -> tuple[int, int]:
    """Start and end (Unix ms) of the exchange-zone calendar day holding ``ms``."""
    tzinfo = zone(tz)
    day = datetime.fromtimestamp(ms / 1000, tz=tzinfo).date()
    start = datetime(day.year, day.month, day.day, tzinfo=tzinfo)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tzinfo)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


_day_cache: dict[int, tuple[int, int]] = {}


def cached_day_bounds(ms: int) -> tuple[int, int]:
    """:func:`day_bounds` in the exchange zone, cached by UTC hour (days start on the hour)."""
    hour = ms // 3_600_000
    got = _day_cache.get(hour)
    if got is None:
        if len(_day_cache) > 100_000:
            _day_cache.clear()
        got = _day_cache[hour] = day_bounds(ms)
    return got


#: A second bar as :class:`BarRing` packs it: start, open, high, low, close, volume,
#: vwap (NaN for none), and whether the volume was an int.
SECOND_REC: Final = struct.Struct("<qddddddB")


class BarRing(PackedRing):
    """Bounded ring of authoritative second bars, packed like the tape (see tape.py).

    Thousands of symbols × an hour of seconds as Bar objects would hold
    millions of objects for the collector to walk; packed, a bar is 57 bytes
    and nothing of the frame it came in stays alive.
    """

    __slots__ = ()

    def __init__(self, cap: int) -> None:
        super().__init__(cap, SECOND_REC)

    def put(
        self,
        start_ms: int,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        vwap: float | None,
    ) -> None:
        """Append one bar (raises struct.error / OverflowError for a value it cannot hold)."""
        self.pack(
            start_ms,
            open,
            high,
            low,
            close,
            volume,
            math.nan if vwap is None else vwap,
            type(volume) is int,
        )

    def __iter__(self) -> Iterator[Bar]:
        """Oldest first, as fresh Bar objects."""
        for seq in self._seqs(False, None):
            start, o, h, lo, c, v, vw, is_int = self._raw(seq)
            volume = int(v) if is_int else v
            yield Bar(int(start), o, h, lo, c, volume, None if vw != vw else vw, 0, AM)
