"""Minute bars per symbol: REST seed + live trades + authoritative AM, and resampling.

One sorted list of minute :class:`Bar` per symbol. Each bar remembers where
it came from, because the sources rank differently:

* ``AM`` (the server's minute bar) is authoritative: it replaces whatever the
  trades built for that minute, and a re-sent AM replaces the earlier one.
* ``SEED`` (REST history) is official for completed minutes, so it replaces a
  trade-built bar — except the live forming minute, which keeps growing live.
  It never replaces an AM bar. So seed and live join with one bar per minute.
* ``TRADES``: built here from eligible trades (the state's hot path updates the
  forming bar in place; everything else goes through this module).

Higher timeframes are resampled from the minutes on request and cached per
timeframe; only groups from the earliest changed minute onwards (and always
the group holding the newest minute) are recomputed, so a chart that asks
every frame pays for a few bars, not the whole history.
"""

from __future__ import annotations

import math
import struct
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Final

from ticktape.feed.conditions import UPDATES_HIGH_LOW, UPDATES_LAST, UPDATES_VOLUME
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


_NO_HIT: Final = Bar(-1, 0.0, 0.0, 0.0, 0.0)


class _Resampled:
    """Cached bars of one timeframe; ``dirty`` = earliest minute changed since built."""

    __slots__ = ("bars", "dirty")

    def __init__(self) -> None:
        self.bars: list[Bar] = []
        self.dirty: float = -_INF  # -inf: rebuild everything


class MinuteBars:
    """Sorted, bounded minute bars of one symbol, with merge rules and resampling."""

    __slots__ = ("_cache", "_hit", "bars", "cap", "pend_minute", "pend_n", "pend_pv", "pend_v")

    def __init__(self, cap: int = 20_000) -> None:
        self.cap = max(1, cap)
        self.bars: list[Bar] = []
        self._cache: dict[int, _Resampled] = {}
        # The older bar the last late trade went to: replayed or late trades come in
        # runs for one minute, so this saves a search each. Reset whenever bars are replaced.
        self._hit = _NO_HIT
        # Volume of volume-only trades (odd lots...) seen in a minute before any
        # trade that may set its open; it joins the bar once one is started.
        self.pend_minute = -1
        self.pend_v: float = 0
        self.pend_pv = 0.0
        self.pend_n = 0

    # -- changes ----------------------------------------------------------

    def mark(self, start_ms: float) -> None:
        """Note that minutes from ``start_ms`` on changed (outside the forming-bar fast path).

        The newest bar may have changed unmarked (the hot path forms it in
        place), so the mark reaches back to it too: it may stop being newest.
        """
        if self.bars:
            start_ms = min(start_ms, self.bars[-1].start_ms)
        for c in self._cache.values():
            if start_ms < c.dirty:
                c.dirty = start_ms

    def _find(self, start_ms: int) -> int:
        """Index of the first bar with start >= start_ms (searching from the end: usually near)."""
        bars = self.bars
        i = len(bars)
        while i and bars[i - 1].start_ms >= start_ms:
            i -= 1
            if len(bars) - i > 8:  # far back: binary search instead
                return bisect_left(bars, start_ms, key=lambda b: b.start_ms)
        return i

    def _insert(self, bar: Bar) -> None:
        """Put ``bar`` at its place, replacing a bar of the same minute."""
        bars = self.bars
        self._hit = _NO_HIT
        self.mark(bar.start_ms)
        i = self._find(bar.start_ms)
        if i < len(bars) and bars[i].start_ms == bar.start_ms:
            bars[i] = bar
        else:
            bars.insert(i, bar)
        self._trim()

    def put_am(self, bar: Bar) -> None:
        """An AM bar: replaces any bar of that minute."""
        bar.source = AM
        self._insert(bar)

    def trade(self, minute: int, price: float, size: float, flags: int) -> Bar | None:
        """A trade for a minute that is not the forming bar (``flags``: conditions.UPDATES_*).

        Returns the new bar when the trade started the newest minute (the caller
        keeps forming it in place), else None.
        """
        bars = self.bars
        if not bars or minute > bars[-1].start_ms:
            return self._start(minute, price, size, flags, None)
        b = self._hit
        if b.start_ms != minute:
            i = self._find(minute)
            if i < len(bars) and bars[i].start_ms == minute:
                b = self._hit = bars[i]
        if b.start_ms == minute:
            if b.source == TRADES:  # AM and seed bars are authoritative
                if flags & UPDATES_HIGH_LOW:
                    b.high = max(b.high, price)
                    b.low = min(b.low, price)
                if flags & UPDATES_LAST:
                    b.close = price
                if flags & UPDATES_VOLUME:
                    b.volume += size
                    b.pv += price * size
                    b.transactions += 1
                self.mark(minute)
            return None
        self._start(minute, price, size, flags, i)
        return None

    def _start(
        self, minute: int, price: float, size: float, flags: int, at: int | None
    ) -> Bar | None:
        if not flags & UPDATES_LAST:  # cannot set an open: hold its volume for the minute's bar
            if flags & UPDATES_VOLUME:
                if self.pend_minute != minute:
                    self.pend_minute, self.pend_v, self.pend_pv, self.pend_n = minute, 0, 0.0, 0
                self.pend_v += size
                self.pend_pv += price * size
                self.pend_n += 1
            return None
        vol = flags & UPDATES_VOLUME
        b = Bar(minute, price, price, price, price, size if vol else 0, price, 1 if vol else 0)
        if self.pend_minute == minute:
            b.volume += self.pend_v
            b.pv += self.pend_pv
            b.transactions += self.pend_n
            self.pend_minute = -1
        self.mark(minute)
        if at is None:
            self.bars.append(b)
        else:
            self.bars.insert(at, b)
        self._trim()
        return b if at is None else None

    def _trim(self) -> None:
        """Drop the oldest bars in chunks (amortised O(1)) once over the cap."""
        if len(self.bars) > self.cap + (self.cap >> 3) + 1:
            del self.bars[: len(self.bars) - self.cap]
            self._cache.clear()
            self._hit = _NO_HIT

    def seed(self, bars: Iterable[Bar], forming_ms: int) -> None:
        """Merge REST history: new minutes are added; a trade-built minute before
        ``forming_ms`` (the live forming minute) is replaced; AM bars are kept."""
        have = {b.start_ms: b for b in self.bars}
        low = _INF
        for b in bars:
            old = have.get(b.start_ms)
            if old is None or (old.source == TRADES and b.start_ms < forming_ms):
                b.source = SEED
                have[b.start_ms] = b
                low = min(low, b.start_ms)
        self._hit = _NO_HIT
        self.mark(low)
        merged = sorted(have.values(), key=lambda b: b.start_ms)
        self.bars = merged[-self.cap :]
        if len(merged) > self.cap:
            self._cache.clear()

    # -- reading ----------------------------------------------------------

    def resample(self, minutes: int) -> list[Bar]:
        """Bars of ``minutes`` minutes (1440 = exchange-zone day), oldest first, incl. forming.

        The bars returned are the stored/cached objects: read them, do not change them.
        """
        bars = self.bars
        if minutes == 1:
            return list(bars)
        if not bars:
            return []
        c = self._cache.get(minutes)
        if c is None:
            c = self._cache[minutes] = _Resampled()
        key: Callable[[int], tuple[int, float]] = (
            cached_day_bounds if minutes == 1440 else _fixed_key(minutes * MINUTE_MS)
        )
        # Always redo the group holding the newest minute: the hot path changes it unmarked.
        redo = min(c.dirty, bars[-1].start_ms)
        out = c.bars
        if redo == -_INF or not out:
            start_group = -_INF
            out.clear()
        else:
            start_group = key(int(redo))[0]
            while out and out[-1].start_ms >= start_group:
                out.pop()
        i = 0 if start_group == -_INF else bisect_left(bars, start_group, key=lambda b: b.start_ms)
        cur: Bar | None = None
        end = -_INF
        for b in bars[i:]:
            if b.start_ms >= end or cur is None:
                gs, end = key(b.start_ms)
                cur = b.copy()
                cur.start_ms = gs
                cur.source = TRADES
                out.append(cur)
                continue
            if b.high > cur.high:
                cur.high = b.high
            if b.low < cur.low:
                cur.low = b.low
            cur.close = b.close
            cur.volume += b.volume
            cur.pv += b.pv
            cur.transactions += b.transactions
        c.dirty = _INF
        return list(out)


def _fixed_key(width: int) -> Callable[[int], tuple[int, float]]:
    def key(ms: int) -> tuple[int, float]:
        s = ms - ms % width
        return s, s + width

    return key
