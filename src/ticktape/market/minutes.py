"""Minute bars per symbol: REST seed, live trades and AM bars merged; cached resampling.

Packed storage, one live forming bar. See docs/performance.md.
"""

from __future__ import annotations

import math
import struct
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable
from typing import Final

from ticktape.feed.conditions import (
    UPDATES_HIGH_LOW,
    UPDATES_LAST,
    UPDATES_VOLUME,
    regular_session,
)
from ticktape.market.bars import AM, SEED, TRADES, Bar, cached_day_bounds

#: open, high, low, close, volume, pv, transactions, source (| _INT_VOLUME).
_REC: Final = struct.Struct("<ddddddqB")
_SIZE: Final = _REC.size
_INT_VOLUME: Final = 4  # the volume was an int (AM/REST volumes are; keeps them printing so)
_INF: Final = math.inf
_NO_HIT: Final = Bar(-1, 0.0, 0.0, 0.0, 0.0)


class _Resampled:
    """Cached bars of one timeframe; ``dirty`` = earliest minute changed since built."""

    __slots__ = ("bars", "dirty")

    def __init__(self) -> None:
        self.bars: list[Bar] = []
        self.dirty: float = -_INF  # -inf: rebuild everything


def _add(b: Bar, price: float, size: float, flags: int) -> None:
    """A trade into a trade-built bar, by its flags (conditions.UPDATES_*)."""
    if flags & UPDATES_HIGH_LOW:
        b.high = max(b.high, price)
        b.low = min(b.low, price)
    if flags & UPDATES_LAST:
        b.close = price
    if flags & UPDATES_VOLUME:
        b.volume += size
        b.pv += price * size
        b.transactions += 1


class MinuteBars:
    """Sorted, bounded minute bars of one symbol, with merge rules and resampling.

    Records ``0..n-1`` of ``buf`` (start times in ``starts``) are the packed
    bars, oldest first; ``tail``, when set, is the newest bar (trade-built,
    formed in place by the state). At most ``cap`` packed bars plus the tail:
    when full, the oldest ``cap // 64`` are dropped at once (amortised O(1)).
    """

    __slots__ = (
        "_cache",
        "_hit",
        "_hit_i",
        "buf",
        "cap",
        "n",
        "pend_minute",
        "pend_n",
        "pend_pv",
        "pend_v",
        "starts",
        "tail",
    )

    def __init__(self, cap: int = 20_000) -> None:
        self.cap = max(1, cap)
        self.n = 0
        self.buf = bytearray(self.cap * _SIZE)  # committed now, as the rings are (tape.py)
        self.starts = array("q", bytes(8 * self.cap))
        self.tail: Bar | None = None
        self._cache: dict[int, _Resampled] = {}
        # The older bar the last late trade went to (index ``_hit_i``): replayed or late
        # trades come in runs for one minute, so this saves a search and an unpack each.
        self._hit = _NO_HIT
        self._hit_i = -1
        # Volume of volume-only trades (odd lots...) seen in a minute before any
        # trade that may set its open; it joins the bar once one is started.
        self.pend_minute = -1
        self.pend_v: float = 0
        self.pend_pv = 0.0
        self.pend_n = 0

    def __len__(self) -> int:
        return self.n + (self.tail is not None)

    def resize(self, cap: int) -> None:
        """Grow to ``cap`` packed bars, keeping every bar (a smaller cap is ignored)."""
        if cap <= self.cap:
            return
        buf = bytearray(cap * _SIZE)
        buf[: self.n * _SIZE] = self.buf[: self.n * _SIZE]
        starts = array("q", bytes(8 * cap))
        starts[: self.n] = self.starts[: self.n]
        self.buf, self.starts, self.cap = buf, starts, cap

    # -- packed records ---------------------------------------------------

    def _get(self, i: int) -> Bar:
        o, h, lo, c, v, pv, n, f = _REC.unpack_from(self.buf, i * _SIZE)
        b = Bar(self.starts[i], o, h, lo, c, 0, None, n, f & 3)
        b.volume = int(v) if f & _INT_VOLUME else v
        b.pv = pv
        return b

    @staticmethod
    def _values(b: Bar) -> tuple[float, ...]:
        flags = b.source | (_INT_VOLUME if type(b.volume) is int else 0)
        return (b.open, b.high, b.low, b.close, b.volume, b.pv, b.transactions, flags)

    @classmethod
    def check(cls, b: Bar) -> None:
        """Raise struct.error / OverflowError if ``b`` holds a value a record cannot."""
        _REC.pack(*cls._values(b))
        array("q", (b.start_ms,))

    def _set(self, i: int, b: Bar) -> None:
        """Pack ``b`` at ``i`` (raises struct.error / OverflowError for a value it cannot hold)."""
        _REC.pack_into(self.buf, i * _SIZE, *self._values(b))
        self.starts[i] = b.start_ms

    def _append(self, b: Bar) -> None:
        if self.n == self.cap:
            self._drop()
        self._set(self.n, b)
        self.n += 1

    def _insert(self, i: int, b: Bar) -> None:
        """Put ``b`` at index ``i``, shifting the newer bars up."""
        if self.n == self.cap:
            i -= self._drop()
            if i < 0:  # older than everything kept
                return
        n = self.n
        self._set(n, b)  # first: a value that cannot be packed raises before anything moved
        self.buf[(i + 1) * _SIZE : (n + 1) * _SIZE] = self.buf[i * _SIZE : n * _SIZE]
        self.starts[i + 1 : n + 1] = self.starts[i:n]
        self._set(i, b)
        self.n = n + 1
        self._hit = _NO_HIT

    def _drop(self) -> int:
        """Drop the oldest bars (a chunk, so the copy is amortised); how many."""
        k = max(1, self.cap // 64)
        n = self.n
        self.buf[: (n - k) * _SIZE] = self.buf[k * _SIZE : n * _SIZE]
        self.starts[: n - k] = self.starts[k:n]
        self.n = n - k
        self._cache.clear()
        self._hit = _NO_HIT
        return k

    def _newest(self) -> int | None:
        if self.tail is not None:
            return self.tail.start_ms
        return self.starts[self.n - 1] if self.n else None

    # -- changes ----------------------------------------------------------

    def mark(self, start_ms: float) -> None:
        """Note that minutes from ``start_ms`` on changed (outside the forming-bar fast path).

        The newest bar may have changed unmarked (the hot path forms it in
        place), so the mark reaches back to it too: it may stop being newest.
        """
        if not self._cache:  # nobody reads this symbol's bars
            return
        newest = self._newest()
        if newest is not None:
            start_ms = min(start_ms, newest)
        for c in self._cache.values():
            if start_ms < c.dirty:
                c.dirty = start_ms

    def put_am(self, bar: Bar) -> None:
        """An AM bar: replaces any bar of that minute."""
        bar.source = AM
        self.check(bar)  # a wire value it cannot hold raises before anything moved
        self.mark(bar.start_ms)
        tail = self.tail
        if tail is not None and bar.start_ms >= tail.start_ms:
            self.tail = None
            if bar.start_ms > tail.start_ms:
                self._append(tail)
            self._append(bar)
            return
        i = bisect_left(self.starts, bar.start_ms, 0, self.n)
        if i < self.n and self.starts[i] == bar.start_ms:
            self._set(i, bar)
            self._hit = _NO_HIT
        else:
            self._insert(i, bar)

    def trade(self, minute: int, price: float, size: float, flags: int) -> Bar | None:
        """A trade for a minute that is not the forming bar (``flags``: conditions.UPDATES_*).

        Returns the new bar when the trade started the newest minute (the caller
        keeps forming it in place), else None.
        """
        b, i = self._hit, self._hit_i
        if b.start_ms != minute:  # not the run of late trades we saw last
            newest = self._newest()
            if newest is None or minute > newest:
                return self._start(minute, price, size, flags, None)
            tail = self.tail
            if tail is not None and tail.start_ms == minute:
                if tail.source == TRADES:
                    _add(tail, price, size, flags)
                    self.mark(minute)
                return None
            i = bisect_left(self.starts, minute, 0, self.n)
            if i == self.n or self.starts[i] != minute:
                self._start(minute, price, size, flags, i)
                return None
            b = self._hit = self._get(i)
            self._hit_i = i
        if b.source == TRADES:  # AM and seed bars are authoritative
            _add(b, price, size, flags)
            _REC.pack_into(self.buf, i * _SIZE, *self._values(b))
            self.mark(minute)
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
        if at is not None:
            self._insert(at, b)
            return None
        if self.tail is not None:  # no longer the newest: packed, never formed in place again
            self._append(self.tail)
        self.tail = b
        return b

    def seed(self, bars: Iterable[Bar], forming_ms: int) -> None:
        """Merge REST history: new minutes are added; a trade-built minute before
        ``forming_ms`` (the live forming minute) is replaced; AM bars are kept.

        The tail stays the tail only if it is still the newest bar (check ``tail``).
        """
        bars = list(bars)
        for b in bars:
            self.check(b)  # before anything moved
        have = {self.starts[i]: self._get(i) for i in range(self.n)}
        tail = self.tail
        if tail is not None:
            have[tail.start_ms] = tail
        for b in bars:
            old = have.get(b.start_ms)
            if old is None or (old.source == TRADES and b.start_ms < forming_ms):
                b.source = SEED
                have[b.start_ms] = b
        merged = sorted(have.values(), key=lambda b: b.start_ms)
        if tail is not None and merged and merged[-1] is tail:
            merged.pop()
        else:
            self.tail = None
        merged = merged[-self.cap :]
        for i, b in enumerate(merged):
            self._set(i, b)
        self.n = len(merged)
        self._cache.clear()
        self._hit = _NO_HIT

    # -- reading ----------------------------------------------------------

    def between(self, lo: int, hi: int) -> list[Bar]:
        """Fresh copies of the bars starting in ``[lo, hi)``, oldest first."""
        starts, n = self.starts, self.n
        out = [
            self._get(i)
            for i in range(bisect_left(starts, lo, 0, n), bisect_left(starts, hi, 0, n))
        ]
        tail = self.tail
        if tail is not None and lo <= tail.start_ms < hi:
            out.append(tail)
        return out

    def newest_between(self, lo: int, hi: int) -> Bar | None:
        """The newest bar starting in ``[lo, hi)`` (to read, not change), or None."""
        tail = self.tail
        if tail is not None and lo <= tail.start_ms < hi:
            return tail
        i = bisect_left(self.starts, hi, 0, self.n) - 1
        return self._get(i) if i >= 0 and self.starts[i] >= lo else None

    def regular_close(self, time_ms: int) -> float | None:
        """The regular-session close of the day holding ``time_ms`` (so far), or None.

        The rule of ``feed.conditions.regular_close``: the newest minute starting in 09:30-16:00.
        """
        bar = self.newest_between(*regular_session(time_ms))
        return None if bar is None else bar.close

    def _minutes(self) -> list[Bar]:
        """Every minute bar, oldest first: the cached packed ones (brought up to date) + tail."""
        c = self._cache.get(1)
        if c is None:
            c = self._cache[1] = _Resampled()
        out = c.bars
        if c.dirty == -_INF:
            out.clear()
        elif c.dirty != _INF:  # out[k] is still record k for every bar before the mark
            while out and out[-1].start_ms >= c.dirty:
                out.pop()
        c.dirty = _INF
        out.extend(self._get(i) for i in range(len(out), self.n))
        return out if self.tail is None else [*out, self.tail]

    def resample(self, minutes: int) -> list[Bar]:
        """Bars of ``minutes`` minutes (1440 = exchange-zone day), oldest first, incl. forming.

        The bars returned are cached objects (the forming one is live): read them,
        do not change them.
        """
        bars = self._minutes()
        if minutes == 1:
            return list(bars)
        if not bars:
            return []
        c = self._cache.get(minutes)
        if c is None:
            c = self._cache[minutes] = _Resampled()
        key: Callable[[int], tuple[int, float]] = (
            cached_day_bounds if minutes == 1440 else _fixed_key(minutes * 60_000)
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
