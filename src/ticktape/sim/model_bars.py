"""Bar arithmetic for synthetic history: subdivide a bar exactly, or merge bars.

See docs/simulator.md (history that meets the live feed).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import NamedTuple

from ticktape.feed.conditions import regular_close
from ticktape.feed.events import Agg
from ticktape.sim.model_calendar import day_start, et_date


class Ohlc(NamedTuple):
    """A bar in integer ticks, before it is stamped and turned into an :class:`Agg`."""

    open: int
    high: int
    low: int
    close: int
    volume: float
    trades: int


def split_total(total: int, weights: Sequence[float], floor: Sequence[int] | int) -> list[int]:
    """Integers that sum to ``total``, each at least its ``floor``, the rest shared by weight."""
    floors = [floor] * len(weights) if isinstance(floor, int) else list(floor)
    rest = total - sum(floors)
    wsum = sum(weights) or 1.0
    parts = [f + int(rest * w / wsum) for f, w in zip(floors, weights, strict=True)]
    parts[max(range(len(parts)), key=weights.__getitem__)] += total - sum(parts)
    return parts


def _path(bar: Ohlc, shape: Sequence[float], rng: random.Random) -> list[int]:
    """Tick prices at the k+1 boundaries of k children: a Brownian bridge from open to close,
    stretched piecewise-linearly so its extremes touch the parent's high and low."""
    k = len(shape)
    o, c = float(bar.open), float(bar.close)
    step = (bar.high - bar.low) / math.sqrt(k) * 0.8
    walk = [0.0]
    gauss = rng.gauss
    for s in shape:
        walk.append(walk[-1] + gauss(0.0, step * s))
    end = walk[-1]
    xs = [o + (c - o - end) * i / k + w for i, w in enumerate(walk)]
    up, dn = max(o, c), min(o, c)
    top, bottom = max(xs), min(xs)
    fu = (bar.high - up) / (top - up) if top > up else 0.0
    fd = (dn - bar.low) / (dn - bottom) if bottom < dn else 0.0
    out = [
        round(up + (x - up) * fu) if x > up else round(dn - (dn - x) * fd) if x < dn else round(x)
        for x in xs
    ]
    out[0], out[-1] = bar.open, bar.close
    return out


def subdivide(
    bar: Ohlc, weights: Sequence[float], rng: random.Random, *, whole: bool
) -> list[Ohlc]:
    """Split ``bar`` into ``len(weights)`` consecutive children whose activity follows ``weights``.

    ``whole`` volumes are integers (shares, quote ticks) and each child gets at
    least one share per trade; otherwise (crypto) volume is a float.
    """
    k = len(weights)
    mean = sum(weights) / k
    shape = [math.sqrt(w / mean) for w in weights]
    xs = _path(bar, shape, rng)
    noisy = [w * (0.4 + rng.random() * 1.2) for w in weights]
    trades = split_total(max(bar.trades, k), noisy, 1)
    if whole:
        volumes: list[float] = list(split_total(int(bar.volume), noisy, trades))
    else:
        nsum = sum(noisy)
        volumes = [round(bar.volume * w / nsum, 8) for w in noisy]
    wick = max(1.0, (bar.high - bar.low) / math.sqrt(k) * 0.6)
    rand = rng.random
    kids = []
    for i in range(k):
        a, b = xs[i], xs[i + 1]
        hi = min(bar.high, max(a, b) + int(rand() * rand() * wick))
        lo = max(bar.low, min(a, b) - int(rand() * rand() * wick))
        kids.append(Ohlc(a, hi, lo, b, volumes[i], trades[i]))
    top = max(range(k), key=lambda i: kids[i].high)
    kids[top] = kids[top]._replace(high=bar.high)
    bottom = min(range(k), key=lambda i: kids[i].low)
    kids[bottom] = kids[bottom]._replace(low=bar.low)
    return kids


def to_agg(bar: Ohlc, t: int, scale: int, vwap_decimals: int) -> Agg:
    """Stamp a tick bar at ``t``; its VWAP is a typical price inside the bar."""
    vw = (bar.open + bar.high + bar.low + 2 * bar.close) / (5 * scale)
    return Agg(
        open=bar.open / scale,
        high=bar.high / scale,
        low=bar.low / scale,
        close=bar.close / scale,
        volume=bar.volume,
        timestamp=t,
        vwap=round(vw, vwap_decimals),
        transactions=bar.trades,
    )


def merge(bars: Sequence[Agg], t: int, vwap_decimals: int) -> Agg:
    """One bar covering ``bars`` (ascending): first open, last close, extremes, summed volume."""
    volume = sum(b.volume for b in bars)
    pv = sum((b.vwap or b.close) * b.volume for b in bars)
    return Agg(
        open=bars[0].open,
        high=max(b.high for b in bars),
        low=min(b.low for b in bars),
        close=bars[-1].close,
        volume=round(volume, 8) if isinstance(volume, float) else volume,
        timestamp=t,
        vwap=round(pv / volume, vwap_decimals) if volume else bars[-1].close,
        transactions=sum(b.transactions or 0 for b in bars),
    )


def day_merge(bars: Sequence[Agg], t: int, vwap_decimals: int) -> Agg:
    """A daily bar from a day's bars (ascending): :func:`merge`, closing at the regular
    session's close as a real daily bar does (``feed.conditions.regular_close``: the newest
    bar starting in regular hours), not at the after-hours drift; a day without one closes
    at its last bar."""
    day = merge(bars, t, vwap_decimals)
    close = regular_close((b.timestamp, b.close) for b in reversed(bars))
    if close is not None:
        day.close = close
    return day


def bucketer(multiplier: int, timespan: str) -> Callable[[int], int]:
    """Map a bar start to the start of its ``multiplier × timespan`` bucket.

    Intraday buckets are aligned to the epoch (so to whole ET hours); day and longer
    buckets to ET midnights, weeks starting on Sunday, months on the 1st.
    """
    fixed = {"second": 1_000, "minute": 60_000, "hour": 3_600_000}
    if timespan in fixed:
        span = fixed[timespan] * multiplier
        return lambda t: t - t % span
    if timespan == "day":
        return lambda t: day_start(date.fromordinal(_floor(et_date(t).toordinal(), multiplier)))
    if timespan == "week":

        def week(t: int) -> int:
            d = et_date(t)
            sunday = d.toordinal() - (d.weekday() + 1) % 7
            return day_start(date.fromordinal(_floor(sunday // 7, multiplier) * 7))

        return week
    months = {"month": 1, "quarter": 3, "year": 12}[timespan] * multiplier

    def month(t: int) -> int:
        d = et_date(t)
        idx = _floor(d.year * 12 + d.month - 1, months)
        return day_start(date(idx // 12, idx % 12 + 1, 1))

    return month


def _floor(x: int, m: int) -> int:
    return x - x % m


def bucket_span_ms(multiplier: int, timespan: str) -> int:
    """An upper bound on one bucket's length (for fetching enough base bars)."""
    days = {"day": 1, "week": 7, "month": 31, "quarter": 92, "year": 366}
    fixed = {"second": 1_000, "minute": 60_000, "hour": 3_600_000}
    if timespan in fixed:
        return fixed[timespan] * multiplier
    return int(timedelta(days=days[timespan] * multiplier + 1).total_seconds() * 1000)


def resample(bars: Sequence[Agg], key: Callable[[int], int], vwap_decimals: int) -> list[Agg]:
    """Merge ascending ``bars`` into buckets given by ``key``."""
    out: list[Agg] = []
    group: list[Agg] = []
    current = None
    for b in bars:
        k = key(b.timestamp)
        if k != current and group:
            out.append(merge(group, current or 0, vwap_decimals))
            group = []
        current = k
        group.append(b)
    if group:
        out.append(merge(group, current or 0, vwap_decimals))
    return out
