"""Synthetic price history, anchored so it ends exactly where the live simulation begins.

See docs/simulator.md (history that meets the live feed).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from ticktape.feed.conditions import is_regular_hours
from ticktape.feed.events import Agg
from ticktape.sim.model_bars import (
    Ohlc,
    bucket_span_ms,
    bucketer,
    day_merge,
    resample,
    subdivide,
    to_agg,
)
from ticktape.sim.model_calendar import (
    FULL_SESSION_MS,
    MINUTE,
    PROFILE,
    activity,
    day_start,
    et_date,
    local_minute,
    regular_hours,
    session,
)
from ticktape.sim.symbols import Profile, stable_hash

LEAD_MS: Final = 16 * 60 * MINUTE
"""The always-open stretch of history just before a symbol's anchor."""
OLDEST: Final = date(1990, 1, 1)
"""History goes no further back (a request before it just starts here)."""
_CACHE_SEGMENTS: Final = 256
LIVE_MINUTES: Final = 6_000
"""Live minute bars kept per symbol for REST (~4 days at speed 1); older ones are dropped."""
LIVE_SECONDS: Final = 900
"""Live second bars kept per symbol (15 minutes): second history is rarely asked for."""
TIMESPANS: Final = ("second", "minute", "hour", "day", "week", "month", "quarter", "year")
PREV_DAY_BACK: Final = 3
"""How far back a previous trading day is looked for when a day's figures are first made:
a weekend (the simulator has no holidays). Not a week: thousands of symbols would take seconds."""


class DayFold:
    """A day's bar merged as its bars arrive, equal to :func:`day_merge` of the same bars.

    The snapshot endpoints read it for thousands of symbols at once; folding each minute as
    it is recorded makes that a read instead of a merge of the day's minutes per request.
    """

    __slots__ = ("_bar", "close", "count", "end", "high", "low", "open", "pv", "reg_close",
                 "start", "trades", "volume")  # fmt: skip

    def __init__(self, start: int, end: int) -> None:
        self.start, self.end = start, end
        self.count = self.trades = 0
        self.open = self.close = 0.0
        self.high, self.low = -math.inf, math.inf
        self.volume: float = 0  # int while every bar's is: merge() sums the same way
        self.pv = 0.0
        self.reg_close: float | None = None
        self._bar: Agg | None = None

    def add(self, b: Agg) -> None:
        """Fold the next bar of the day (ascending, as ``merge`` reads them)."""
        if not self.count:
            self.open = b.open
        self.count += 1
        self.high = max(self.high, b.high)
        self.low = min(self.low, b.low)
        self.close = b.close
        self.volume += b.volume
        self.pv += (b.vwap or b.close) * b.volume
        self.trades += b.transactions or 0
        if is_regular_hours(b.timestamp):
            self.reg_close = b.close
        self._bar = None

    def bar(self, vwap_decimals: int) -> Agg | None:
        """The day's bar so far (None before its first bar); made once per change."""
        if self._bar is None and self.count:
            v = self.volume
            self._bar = Agg(
                open=self.open,
                high=self.high,
                low=self.low,
                close=self.close if self.reg_close is None else self.reg_close,
                volume=round(v, 8) if isinstance(v, float) else v,
                timestamp=self.start,
                vwap=round(self.pv / v, vwap_decimals) if v else self.close,
                transactions=self.trades,
            )
        return self._bar


@dataclass(frozen=True, slots=True)
class Segment:
    """One stretch of trading: a session, a clipped session, or the lead-in."""

    start: int
    end: int
    day: date
    bar: Ohlc
    seed: int


class SymbolHistory:
    """The history of one symbol, anchored at ``anchor_ms``; also stores its live bars."""

    def __init__(self, prof: Profile, seed: int, anchor_ms: int) -> None:
        self.profile = prof
        self.seed = seed
        self.anchor = anchor_ms // MINUTE * MINUTE
        self.lead_start = self.anchor - LEAD_MS
        self.vwap_decimals = max(4, prof.decimals)
        self.live_minutes: list[Agg] = []
        self.live_seconds: deque[Agg] = deque(maxlen=LIVE_SECONDS)
        #: Today's bar kept as minutes are recorded, and the previous trading day's: made on
        #: first use by :meth:`History.day_figures`, None until then (other clusters pay nothing).
        self.fold: DayFold | None = None
        self.prev_day: Agg | None = None
        self._segments: list[Segment] = []  # newest first
        self._next_day = et_date(self.lead_start)
        self._next_open = prof.price_ticks  # the lead-in closes at the live start price
        self._whole = prof.cluster != "crypto"
        self._full = activity(prof.cluster, 0, FULL_SESSION_MS[prof.cluster])
        cuts = _lead_cuts(prof.cluster, self.lead_start, self.anchor)
        for start, end in reversed(list(itertools.pairwise(cuts))):
            self._add(start, end, et_date(start), "lead")

    def record(self, minute: Agg) -> None:
        """Keep an emitted live minute bar, so REST returns exactly what was sent."""
        self.live_minutes.append(minute)
        fold = self.fold
        if fold is not None:
            if minute.timestamp >= fold.end:
                fold = self.roll(minute.timestamp)
            if minute.timestamp >= fold.start:
                fold.add(minute)
            else:  # a late bar of an older day: let day_figures make the day again
                self.fold = None
        if len(self.live_minutes) > LIVE_MINUTES * 3 // 2:  # trim in batches: O(1) amortised
            del self.live_minutes[: len(self.live_minutes) - LIVE_MINUTES]

    def roll(self, t: int) -> DayFold:
        """Start the day holding ``t`` (after the fold's): a day that traded becomes the
        previous one, a day that did not (a weekend) leaves the previous one as it was."""
        if self.fold is not None:
            done = self.fold.bar(self.vwap_decimals)
            if done is not None:
                self.prev_day = done
        d = et_date(t)
        self.fold = DayFold(day_start(d), day_start(d + timedelta(days=1)))
        return self.fold

    # --- segments -------------------------------------------------------------------------

    def _add(self, start: int, end: int, day: date, tag: str) -> None:
        """Append the next-older segment; it closes where the newer one opens (less any gap)."""
        p = self.profile
        seed = stable_hash(self.seed, p.cluster, p.symbol, start, end, tag)
        rng = random.Random(seed)
        share = activity(p.cluster, start, end) / self._full
        week = (start // 86_400_000 + 4) // 7
        regime = 0.55 + 0.9 * (stable_hash(self.seed, p.symbol, week) % 1000) / 1000
        sigma = p.daily_vol * regime * math.sqrt(share)
        r = rng.gauss(p.drift * share, sigma)
        close = self._next_open
        if self._segments and self._segments[-1].start != end:  # overnight / weekend gap
            close = max(1, round(close * math.exp(-rng.gauss(0.0, p.daily_vol * 0.3))))
        o = max(1, round(close * math.exp(-r)))
        hi = max(o, close) * math.exp(abs(rng.gauss(0.0, sigma * 0.6)))
        lo = min(o, close) * math.exp(-abs(rng.gauss(0.0, sigma * 0.6)))
        minutes = (end - start) // MINUTE
        volume = p.daily_volume * share * math.exp(rng.gauss(0.0, 0.3)) * (1 + abs(r) / sigma / 4)
        trades = max(minutes * 2, int(volume / p.trade_size))
        if self._whole:
            volume = max(int(volume), trades * 2)
        bar = Ohlc(
            o, max(o, close, round(hi)), max(1, min(o, close, round(lo))), close, volume, trades
        )
        self._segments.append(Segment(start, end, day, bar, seed))
        self._next_open = o

    def _extend(self, until_ms: int) -> None:
        """Generate segments back to (at least) ``until_ms``: every day from its day on, and no
        more (a segment never spans a midnight, so those are all that can overlap it)."""
        first = et_date(until_ms)
        while self._segments[-1].start > until_ms and self._next_day >= max(first, OLDEST):
            d = self._next_day
            self._next_day = d - timedelta(days=1)
            hours = session(self.profile.cluster, d)
            if hours is None:
                continue
            for start, span_end in reversed(_spans(self.profile.cluster, d, hours)):
                end = min(span_end, self._segments[-1].start)
                if start < end:
                    self._add(start, end, d, "day" if end == span_end else "clip")

    def _segments_in(self, from_ms: int, to_ms: int) -> Iterator[Segment]:
        """Segments overlapping ``[from_ms, to_ms)``, oldest first."""
        self._extend(from_ms)
        for seg in reversed(self._segments):
            if seg.end > from_ms and seg.start < to_ms:
                yield seg

    def day_so_far(self, day_start_ms: int) -> tuple[float, float, int]:
        """(volume, Σ price·volume in ticks, open in ticks) of the day before the anchor.

        O(1) per segment — shares of whole segments by activity, not summed minutes —
        so making a symbol live costs microseconds; live ``av``/``a`` start from this.
        """
        volume = pv = 0.0
        first = 0
        cluster = self.profile.cluster
        for seg in self._segments_in(day_start_ms, self.anchor):
            b = seg.bar
            start = max(seg.start, day_start_ms)
            share = activity(cluster, start, seg.end) / (activity(cluster, seg.start, seg.end) or 1)
            volume += b.volume * share
            pv += b.volume * share * (b.open + b.high + b.low + 2 * b.close) / 5
            if not first:
                frac = (start - seg.start) / (seg.end - seg.start)
                first = round(b.open + (b.close - b.open) * frac)
        return volume, pv, first

    # --- bars -----------------------------------------------------------------------------

    def minutes_of(self, seg: Segment) -> list[Agg]:
        """Every minute bar of ``seg`` (each minute of a segment trades)."""
        p = self.profile
        first = local_minute(seg.start)
        prof = PROFILE[p.cluster]
        n = (seg.end - seg.start) // MINUTE
        weights = [prof[(first + i) % 1440] for i in range(n)]
        kids = subdivide(seg.bar, weights, random.Random(seg.seed + 1), whole=self._whole)
        return [
            to_agg(k, seg.start + i * MINUTE, p.scale, self.vwap_decimals)
            for i, k in enumerate(kids)
        ]

    def seg_bar(self, seg: Segment) -> Agg:
        """A segment as one bar, stamped at its start (no minutes needed)."""
        return to_agg(seg.bar, seg.start, self.profile.scale, self.vwap_decimals)

    def seconds_of(self, minute: Agg) -> list[Agg]:
        """Second bars for one synthetic minute: only seconds that traded."""
        p, scale = self.profile, self.profile.scale
        rng = random.Random(stable_hash(self.seed, p.symbol, "s", minute.timestamp))
        n = minute.transactions or 1
        slots = sorted(rng.sample(range(60), min(60, n)))
        bar = Ohlc(
            round(minute.open * scale),
            round(minute.high * scale),
            round(minute.low * scale),
            round(minute.close * scale),
            minute.volume,
            n,
        )
        kids = subdivide(bar, [1.0] * len(slots), rng, whole=self._whole)
        t0 = minute.timestamp
        return [
            to_agg(k, t0 + s * 1000, scale, self.vwap_decimals)
            for s, k in zip(slots, kids, strict=True)
        ]


class History:
    """Histories of every symbol of one market, with a shared cache of generated minutes."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.symbols: dict[str, SymbolHistory] = {}
        self._cache: OrderedDict[tuple[str, int], list[Agg]] = OrderedDict()

    def anchor(self, prof: Profile, anchor_ms: int) -> SymbolHistory:
        """The history of ``prof.symbol``, anchored at ``anchor_ms`` if this is its first use."""
        h = self.symbols.get(prof.symbol)
        if h is None:
            h = self.symbols[prof.symbol] = SymbolHistory(prof, self.seed, anchor_ms)
        return h

    def _seg_minutes(self, h: SymbolHistory, seg: Segment) -> list[Agg]:
        key = (h.profile.symbol, seg.start)
        bars = self._cache.get(key)
        if bars is None:
            bars = self._cache[key] = h.minutes_of(seg)
            if len(self._cache) > _CACHE_SEGMENTS:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return bars

    def minutes(self, h: SymbolHistory, from_ms: int, to_ms: int) -> list[Agg]:
        """Minute bars starting in ``[from_ms, to_ms]``: synthetic, then live."""
        out: list[Agg] = []
        for seg in h._segments_in(from_ms, min(to_ms + 1, h.anchor)):
            bars = self._seg_minutes(h, seg)
            lo = bisect.bisect_left(bars, from_ms, key=_ts)
            hi = bisect.bisect_right(bars, to_ms, key=_ts)
            out.extend(bars[lo:hi])
        live = h.live_minutes
        out.extend(
            live[
                bisect.bisect_left(live, from_ms, key=_ts) : bisect.bisect_right(
                    live, to_ms, key=_ts
                )
            ]
        )
        return out

    def seconds(self, h: SymbolHistory, from_ms: int, to_ms: int) -> list[Agg]:
        """Second bars starting in ``[from_ms, to_ms]``: subdivided minutes, then retained live."""
        out: list[Agg] = []
        for minute in self.minutes(h, from_ms - from_ms % MINUTE, min(to_ms, h.anchor - 1)):
            out.extend(s for s in h.seconds_of(minute) if from_ms <= s.timestamp <= to_ms)
        out.extend(s for s in h.live_seconds if from_ms <= s.timestamp <= to_ms)
        return out

    def days(self, h: SymbolHistory, from_ms: int, to_ms: int) -> list[Agg]:
        """Daily bars for ET dates from ``from_ms`` to ``to_ms``.

        Merged from the day's segments as whole bars (each is exactly what its minutes would
        merge to, so no minute is made) and the live minutes after the anchor: a daily bar, and
        a snapshot of thousands of symbols, cost O(1) a day.
        """
        first, last = et_date(from_ms), et_date(to_ms)
        parts: dict[date, list[Agg]] = {}
        to_day = day_start(last + timedelta(days=1))
        for seg in h._segments_in(day_start(first), min(to_day, h.anchor)):
            if first <= seg.day <= last:
                parts.setdefault(seg.day, []).append(h.seg_bar(seg))
        live = h.live_minutes
        i = bisect.bisect_left(live, day_start(first), key=_ts)
        while i < len(live) and live[i].timestamp < to_day:
            d = et_date(live[i].timestamp)
            end = day_start(d + timedelta(days=1))
            j = bisect.bisect_left(live, end, i, key=_ts)
            parts.setdefault(d, []).extend(live[i:j])
            i = j
        return [day_merge(parts[d], day_start(d), h.vwap_decimals) for d in sorted(parts)]

    def day_figures(self, h: SymbolHistory, now_ms: int) -> tuple[Agg | None, Agg | None]:
        """(today's bar so far, the previous trading day's bar) at ``now_ms``: what
        :meth:`days` gives for them, read from the fold the live minutes keep; the history is
        merged only the first time a symbol is asked (or after a late bar of an older day)."""
        fold = h.fold
        if fold is None:
            fold = self._make_fold(h, now_ms)
        elif now_ms >= fold.end:  # a new day in which this symbol has not traded yet
            fold = h.roll(now_ms)
        return fold.bar(h.vwap_decimals), h.prev_day

    def _make_fold(self, h: SymbolHistory, now_ms: int) -> DayFold:
        d = et_date(now_ms)
        today, tomorrow = day_start(d), day_start(d + timedelta(days=1))
        fold = DayFold(today, tomorrow)
        for seg in h._segments_in(today, min(tomorrow, h.anchor)):
            if seg.day == d:
                fold.add(h.seg_bar(seg))
        live = h.live_minutes
        for i in range(bisect.bisect_left(live, today, key=_ts), len(live)):
            if live[i].timestamp < tomorrow:
                fold.add(live[i])
        h.prev_day = None
        for back in range(1, PREV_DAY_BACK + 1):  # a day at a time: most days it is yesterday
            day = d - timedelta(days=back)
            before = self.days(h, day_start(day), day_start(day + timedelta(days=1)) - 1)
            if before:
                h.prev_day = before[-1]
                break
        h.fold = fold
        return fold

    def bars(
        self, h: SymbolHistory, multiplier: int, timespan: str, from_ms: int, to_ms: int
    ) -> list[Agg]:
        """``multiplier × timespan`` bars whose start lies in ``[from_ms, to_ms]``."""
        if timespan not in TIMESPANS or multiplier < 1 or to_ms < from_ms:
            return []
        key = bucketer(multiplier, timespan)
        lo = key(from_ms)
        hi = to_ms + bucket_span_ms(multiplier, timespan)
        if timespan == "second":
            base = self.seconds(h, lo, hi)
        elif timespan in ("minute", "hour"):
            base = self.minutes(h, lo, hi)
        else:
            base = self.days(h, lo, hi)
        if not (multiplier == 1 and timespan in ("second", "minute", "day")):
            base = resample(base, key, h.vwap_decimals)
        return [b for b in base if lo <= b.timestamp <= to_ms]


def _lead_cuts(cluster: str, start: int, end: int) -> list[int]:
    """Where the lead-in is cut: at each ET midnight (a segment belongs to one day) and, for
    stocks, at the regular open and close (a day's regular close is a segment's close)."""
    cuts = [start, end]
    d = et_date(start)
    while day_start(d) < end:
        cuts.append(day_start(d))
        if cluster == "stocks":
            cuts.extend(regular_hours(d))
        d += timedelta(days=1)
    return sorted({c for c in cuts if start <= c <= end})


def _spans(cluster: str, d: date, hours: tuple[int, int]) -> list[tuple[int, int]]:
    """A session cut where its daily bar needs a boundary: a stock day at the regular open and
    close, so the regular close is a segment's close (a daily bar costs no minutes)."""
    if cluster != "stocks":
        return [hours]
    open_ms, close_ms = regular_hours(d)
    return [(hours[0], open_ms), (open_ms, close_ms), (close_ms, hours[1])]


def _ts(bar: Agg) -> int:
    return bar.timestamp
