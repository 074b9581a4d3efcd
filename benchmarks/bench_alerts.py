"""What alerts cost the hot path: decode + apply with 1,000 armed alerts over 200 symbols vs none.

One corpus (the simulator's stream over 200 symbols), two passes per round,
each into a fresh state, taken in lockstep a frame-timer tick at a time in
alternating order (see :func:`lockstep`):

- none: decode + ``MarketState.apply`` for every frame, and the frame timer's
  check with no alerts (which returns at once, as the app's does);
- alerts: the same with 1,000 armed alerts (five per symbol: above, below,
  move, spread, volume, at levels the stream never reaches, so every check
  runs its measure and nothing fires), checked as the app checks them: on
  each frame-timer tick, for the symbols changed since the last tick.

The frame timer ticks every :data:`TICK_EVENTS` events: the app's 10 frames a
second at the corpus' 40,000 events a second. ``alerts_overhead_pct`` is the
median over rounds of (alerts / none - 1) x 100. See docs/alerts.md.
"""

from __future__ import annotations

import time
from typing import Final

from benchmarks import Result, median
from benchmarks.corpus import RATE, Corpus
from ticktape.feed.decode import Decoder
from ticktape.market import MarketState
from ticktape.market.alerts import Alert, AlertBook, parse_phrase

SYMBOLS: Final = 200
ALERTS: Final = 1_000
#: Events between two frame-timer ticks: the app's 10 fps at the corpus' event rate.
TICK_EVENTS: Final = int(RATE / 10)
_CONDITIONS: Final = ("above 100000", "below 0.0001", "move 90%", "spread 1000", "volume 1b")


def alerts_for(symbols: list[str], count: int = ALERTS) -> list[Alert]:
    """``count`` armed alerts spread evenly over ``symbols``, every kind that reads prices."""
    out = []
    for i in range(count):
        symbol = symbols[i % len(symbols)]
        when = _CONDITIONS[(i // len(symbols)) % len(_CONDITIONS)]
        out.append(parse_phrase(f"{symbol} {when}", alert_id=str(i + 1)))
    return out


class Path_:
    """One of the two passes: its own state, decoder and alert book (empty for "none")."""

    def __init__(self, alerts: list[Alert]) -> None:
        self.state = MarketState()
        self.book = AlertBook([_copy(a) for a in alerts], state=self.state)
        self.decode = Decoder().decode
        self.seen = 0
        self.fired = 0
        self.seconds = 0.0

    def tick(self, frames: list[bytes], recv_ms: int) -> None:
        """One frame-timer tick's frames, then the tick's check (as the app's frame does)."""
        decode, apply, book = self.decode, self.state.apply, self.book
        t0 = time.perf_counter()
        for frame in frames:
            apply(decode(frame), recv_ms)
        if book.alerts:  # AlertService.frame: at once without alerts, else what changed
            self.fired += len(book.check_since(self.seen, recv_ms))
            self.seen = self.state.version
        self.seconds += time.perf_counter() - t0


def ticks(frames: list[bytes], counts: list[int]) -> list[list[bytes]]:
    """The frames cut at every :data:`TICK_EVENTS` events."""
    out: list[list[bytes]] = [[]]
    since = 0
    for frame, n in zip(frames, counts, strict=True):
        out[-1].append(frame)
        since += n
        if since >= TICK_EVENTS:
            out.append([])
            since = 0
    return [t for t in out if t]


def lockstep(chunks: list[list[bytes]], alerts: list[Alert]) -> tuple[float, float]:
    """Seconds of (none, alerts) over the whole corpus, taken tick by tick in turns.

    Why in lockstep: on a shared machine load comes in bursts of tens of
    milliseconds; timing both passes over the same tick, a few milliseconds
    apart and in alternating order, lets each burst hit both alike.
    """
    none, armed = Path_([]), Path_(alerts)
    recv_ms = time.time_ns() // 1_000_000
    for i, chunk in enumerate(chunks):
        for path in (none, armed) if i % 2 == 0 else (armed, none):
            path.tick(chunk, recv_ms)
    if armed.fired:
        raise AssertionError(f"{armed.fired} alerts fired: the levels must be out of reach")
    return none.seconds, armed.seconds


def _copy(alert: Alert) -> Alert:
    return Alert(alert.id, alert.symbol, alert.kind, alert.value, alert.unit, alert.direction)


def run(corpus: Corpus, *, rounds: int = 7) -> Result:
    """``alerts_overhead_pct`` and the two passes' events/s."""
    frames = corpus.frames
    counts = [f.count(b'{"ev":') for f in frames]
    symbols = sorted({e.key for f in frames[:2_000] for e in Decoder().decode(f)})
    alerts = alerts_for(symbols)
    chunks = ticks(frames, counts)
    lockstep(chunks[:5], alerts)  # warm up both paths
    none_s, with_s, ratios = [], [], []
    for _ in range(rounds):
        none, armed = lockstep(chunks, alerts)
        none_s.append(none)
        with_s.append(armed)
        ratios.append(armed / none)
    return {
        "alerts_overhead_pct": (median(ratios) - 1.0) * 100.0,
        "alerts_none_events_per_s": corpus.events / median(none_s),
        "alerts_1000_events_per_s": corpus.events / median(with_s),
        "alerts_symbols": len(symbols),
        "alerts_armed": len(alerts),
    }
