"""Live feed figures (rates, lag, apply time) and the warning before the server cuts us off.

Cheap per frame; sorted only when read. See docs/performance.md.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from ticktape.feed.decode import DecodeStats
from ticktape.feed.events import CryptoQuote, CryptoTrade, Event, ForexQuote, Quote, Trade

log = logging.getLogger(__name__)

#: Events whose ``timestamp`` is the exchange time in ms: the ones lag is measured on.
LAG_TYPES: Final[frozenset[type]] = frozenset({Trade, Quote, CryptoTrade, CryptoQuote, ForexQuote})
#: How far into a frame to look for an event to measure lag on.
_LAG_SCAN: Final = 8


def lag_sample(events: Sequence[Event], recv_ms: int) -> float | None:
    """Lag in ms of the first trade/quote in a frame (the oldest: the worst case).

    One sample per frame keeps the hot path cheap; frames come often enough.
    """
    for ev in events[:_LAG_SCAN]:
        if type(ev) in LAG_TYPES:
            return float(recv_ms - ev.timestamp)  # type: ignore[union-attr]
    return None


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile ``q`` (0–100) of already sorted values; None if empty."""
    n = len(sorted_values)
    if n == 0:
        return None
    rank = max(1, math.ceil(q / 100.0 * n))
    return sorted_values[min(rank, n) - 1]


class _Second:
    """Counters and thinned samples for one wall-clock second."""

    __slots__ = ("apply", "busy", "events", "frames", "lag", "n", "sec", "stride")

    def __init__(self, sec: int) -> None:
        self.sec = sec
        self.frames = 0
        self.events = 0
        self.busy = 0.0  # seconds spent decoding + applying
        self.lag: list[float] = []
        self.apply: list[float] = []
        self.n = 0  # frames offered for sampling
        self.stride = 1  # keep every stride-th frame's sample


@dataclass(frozen=True, slots=True)
class FeedSnapshot:
    """Every figure at one instant, computed once (what the status bar draws)."""

    events_per_s: float
    frames_per_s: float
    lag_p50_ms: float | None
    lag_p99_ms: float | None
    apply_ms_p99: float | None
    busy: float  # fraction of wall time spent handling frames
    warning: bool
    warning_reason: str
    decode_errors: int
    reconnects: int
    #: Seconds since the last frame (None before the first): a stalled feed shows here
    #: long before the session's watchdog declares the connection dead.
    silent_s: float | None = None


class FeedStats:
    """Sliding-window feed figures. ``clock`` is injectable for tests.

    ``record_frame`` must be given times from the same clock (the session uses
    :func:`time.perf_counter`, the default).
    """

    def __init__(
        self,
        *,
        window_s: int = 5,
        trend_s: int = 9,
        samples_per_s: int = 256,
        lag_growth_ms: float = 500.0,
        apply_growth_ms: float = 5.0,
        busy_warn: float = 0.8,
        clock: Callable[[], float] = time.perf_counter,
        decode: DecodeStats | None = None,
    ) -> None:
        if window_s < 1 or trend_s < 3 or samples_per_s < 2:
            raise ValueError("need window_s >= 1, trend_s >= 3 and samples_per_s >= 2")
        self.window_s = window_s
        self.trend_s = trend_s
        self.lag_growth_ms = lag_growth_ms
        self.apply_growth_ms = apply_growth_ms
        self.busy_warn = busy_warn
        self._cap = samples_per_s
        self._clock = clock
        self._start = clock()
        self._cur = _Second(int(self._start))
        self._past: deque[_Second] = deque(maxlen=max(window_s, trend_s) + 1)
        #: Decode counts by kind (shared with the session's decoder).
        self.decode = decode if decode is not None else DecodeStats()
        #: Times the connection came back after being lost.
        self.reconnects = 0
        #: Frames whose consumer callback raised (the session logs and carries on).
        self.consumer_errors = 0
        self._last_frame: float | None = None

    # -- hot path ---------------------------------------------------------------------------

    def deliver(
        self,
        on_events: Callable[[list[Event], int], None],
        events: list[Event],
        recv_ms: int,
        t0: float,
    ) -> None:
        """Hand one frame's decoded events on and count the frame (taken since ``t0``).

        A consumer that raises is counted and logged, never let out: the next frame comes.
        """
        lag = None
        if events:
            try:
                on_events(events, recv_ms)
            except Exception:
                self.consumer_errors += 1
                log.exception("on_events callback failed")
            lag = lag_sample(events, recv_ms)
        t1 = time.perf_counter()
        self.record_frame(len(events), lag, t1 - t0, t1)

    def record_passed(self, n_events: int, t0: float) -> None:
        """Count a frame passed on undecoded (a hub's pass-through) as decoded, no lag sample."""
        self.decode.frames += 1
        self.decode.events += n_events
        t1 = time.perf_counter()
        self.record_frame(n_events, None, t1 - t0, t1)

    def record_frame(
        self, n_events: int, lag_ms: float | None, apply_s: float, now: float | None = None
    ) -> None:
        """Count one frame: its events, a lag sample (or None), and its handling time."""
        if now is None:
            now = self._clock()
        self._last_frame = now
        b = self._cur
        sec = int(now)
        if b.sec != sec:
            self._past.append(b)
            b = self._cur = _Second(sec)
        b.frames += 1
        b.events += n_events
        b.busy += apply_s
        b.n += 1
        if b.n % b.stride == 0:
            b.apply.append(apply_s)
            if lag_ms is not None:
                b.lag.append(lag_ms)
            if len(b.apply) >= self._cap:
                # Thin evenly: halve what we hold and sample half as often from now on.
                b.apply = b.apply[::2]
                b.lag = b.lag[::2]
                b.stride *= 2

    # -- reading ----------------------------------------------------------------------------

    def _seconds(self, now: float, span: int) -> list[_Second]:
        first = int(now) - span
        return [b for b in (*self._past, self._cur) if b.sec > first]

    def _span(self, now: float) -> float:
        """Seconds the window covers: whole past seconds plus the current part-second."""
        covered = self.window_s - 1 + (now - int(now))
        return max(min(covered, now - self._start), 1e-6)

    def _rate(self, attr: str) -> float:
        now = self._clock()
        total = sum(getattr(b, attr) for b in self._seconds(now, self.window_s))
        return float(total / self._span(now))

    @property
    def events_per_s(self) -> float:
        return self._rate("events")

    @property
    def frames_per_s(self) -> float:
        return self._rate("frames")

    @property
    def busy(self) -> float:
        """Fraction of the window spent decoding and applying frames."""
        return self._rate("busy")

    def _sorted(self, attr: str, seconds: list[_Second]) -> list[float]:
        out: list[float] = []
        for b in seconds:
            out.extend(getattr(b, attr))
        out.sort()
        return out

    def _pct(self, attr: str, q: float) -> float | None:
        return percentile(self._sorted(attr, self._seconds(self._clock(), self.window_s)), q)

    @property
    def lag_p50_ms(self) -> float | None:
        return self._pct("lag", 50)

    @property
    def lag_p99_ms(self) -> float | None:
        return self._pct("lag", 99)

    @property
    def apply_ms_p99(self) -> float | None:
        p = self._pct("apply", 99)
        return None if p is None else p * 1000.0

    def _trend(self, now: float, attr: str, q: float) -> tuple[float, float] | None:
        """(first, last) of three rising per-third percentiles over ``trend_s``, or None."""
        third = self.trend_s / 3.0
        start = int(now) - self.trend_s + 1
        parts: list[list[_Second]] = [[], [], []]
        for b in self._seconds(now, self.trend_s):
            parts[min(2, int((b.sec - start) / third))].append(b)
        values = [percentile(self._sorted(attr, p), q) for p in parts]
        a, b_, c = values
        if a is None or b_ is None or c is None or not a < b_ < c:
            return None
        return a, c

    @property
    def warning_reason(self) -> str:
        """Why we look like falling behind ('' when all is well)."""
        now = self._clock()
        lag = self._trend(now, "lag", 50)
        if lag is not None and lag[1] - lag[0] >= self.lag_growth_ms:
            return f"lag keeps growing: {lag[0]:.0f} → {lag[1]:.0f} ms"
        apply = self._trend(now, "apply", 99)
        if apply is not None and (apply[1] - apply[0]) * 1000.0 >= self.apply_growth_ms:
            return f"frame time keeps growing: {apply[0] * 1e3:.1f} → {apply[1] * 1e3:.1f} ms"
        busy = self.busy
        if busy >= self.busy_warn:
            return f"handling frames takes {busy:.0%} of the time"
        return ""

    @property
    def warning(self) -> bool:
        return bool(self.warning_reason)

    def snapshot(self) -> FeedSnapshot:
        """All figures at once, for a status bar refresh."""
        reason = self.warning_reason
        return FeedSnapshot(
            events_per_s=self.events_per_s,
            frames_per_s=self.frames_per_s,
            lag_p50_ms=self.lag_p50_ms,
            lag_p99_ms=self.lag_p99_ms,
            apply_ms_p99=self.apply_ms_p99,
            busy=self.busy,
            warning=bool(reason),
            warning_reason=reason,
            decode_errors=self.decode.error_total,
            reconnects=self.reconnects,
            silent_s=None if self._last_frame is None else self._clock() - self._last_frame,
        )

    def __repr__(self) -> str:
        return (
            f"FeedStats(events_per_s={self.events_per_s:.1f}, frames_per_s="
            f"{self.frames_per_s:.1f}, lag_p50_ms={self.lag_p50_ms}, decode={self.decode!r})"
        )
