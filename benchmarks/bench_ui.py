"""The app under load: frame time, ticker-switch latency and CPU, headless (``run_test``).

The app runs with no session (``connect=False``); a feeder task on the app's
own event loop does what the session would: it decodes corpus frames and
hands them to ``MarketState.apply``, paced to the target rate. So the work
and the loop it runs on are the real ones, without a socket's noise. The
watchlist holds the corpus' most active symbols, each seeded with five days
of minute bars from the simulator's history (as REST seeding would), so the
chart draws a full screen of candles.

Figures, per rate (5k and 20k events/s):

* frame time: the app's refresh (every pane takes what changed; its duration
  reported through the public ``TicktapeApp.frames.listeners``) plus the screen
  update that follows it (layout and the compositor rendering the dirty
  lines). Headless, so the final write of escape codes to a terminal is not
  included.
* switch: wall time from a key press (``down``/``up``) to the moment both the
  chart and the tape have *painted* the new symbol (their public
  ``painted_symbol``, set as each renders its first line), polled every 2 ms.
* CPU: the process' user+system time over the frame window ÷ wall time. It
  includes the decoding and applying, which share the process in the real app.
* fps: how many frames the app's timer actually ran per second.

One Textual internal is still used, as Textual has no public hook for it:
``Screen._on_timer_update`` (the screen update) is wrapped on the instance.
"""

from __future__ import annotations

import asyncio
import random
import resource
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, Final

from benchmarks import Result, Unavailable, median, percentile, require
from benchmarks.corpus import START_MS, Corpus

RATES: Final = (5_000, 20_000)
WATCHLIST: Final = 20
SEED_DAYS: Final = 5
SIZE: Final = (160, 48)


def busiest_symbols(corpus: Corpus, n: int) -> list[str]:
    """The ``n`` symbols with the most events in the corpus (what a user would watch)."""
    from ticktape.feed.decode import Decoder

    decode = Decoder().decode
    counts: Counter[str] = Counter()
    for frame in corpus.frames[:1000]:
        counts.update(e.key for e in decode(frame))
    return [s for s, _ in counts.most_common(n)]


def seeded_state(symbols: list[str], seed: int) -> Any:
    """A MarketState holding five days of minute history per symbol, ending at the corpus start."""
    from ticktape.market import Bar, MarketState
    from ticktape.market.history import previous_close
    from ticktape.sim.market import SimMarket

    market = SimMarket("stocks", seed=seed, start_ms=START_MS)
    state = MarketState()
    for symbol in symbols:
        aggs = market.history(symbol, 1, "minute", START_MS - SEED_DAYS * 86_400_000, START_MS)
        bars = [Bar.from_agg(a) for a in aggs]
        state.seed_bars(symbol, bars, prev_close=previous_close(bars, START_MS))
    return state


class Feeder:
    """Decode + apply corpus frames at ``rate`` events/s on the running loop."""

    def __init__(self, corpus: Corpus, state: Any, rate: float) -> None:
        from ticktape.feed.decode import Decoder

        self._frames = corpus.frames
        self._decode = Decoder().decode
        self._apply = state.apply
        self._rate = rate
        self.last_ms = START_MS  # market time of the newest event applied (the app's clock)

    async def run(self) -> None:
        start = time.perf_counter()
        sent = 0
        while True:
            for frame in self._frames:
                events = self._decode(frame)
                self._apply(events, self.last_ms)
                self.last_ms = max(self.last_ms, events[-1].time_ms)
                sent += len(events)
                ahead = start + sent / self._rate - time.perf_counter()
                if ahead > 0:
                    await asyncio.sleep(ahead)
                else:
                    await asyncio.sleep(0)  # behind: still let the UI run between frames


class Probe:
    """Times frames (app frame + the screen update after it) and sees switches painted."""

    def __init__(self) -> None:
        self.frames_ms: list[float] = []
        self.frame_calls = 0
        self.recording = False
        self._pending: float | None = None

    def on_frame(self, elapsed_ms: float) -> None:
        """A ``TicktapeApp.frames.listeners`` entry: called as each app frame ends."""
        if self.recording:
            if self._pending is not None:  # the previous frame changed nothing on screen
                self.frames_ms.append(self._pending)
            self._pending = elapsed_ms
            self.frame_calls += 1

    def wrap_update(self, fn: Callable[[], None]) -> Callable[[], None]:
        def update() -> None:
            t0 = time.perf_counter()
            fn()
            if self._pending is not None and self.recording:
                self.frames_ms.append(self._pending + (time.perf_counter() - t0) * 1000.0)
                self._pending = None

        return update


def _painted(chart: Any, tape: Any, symbol: str) -> float | None:
    """Now, if both the chart and the tape have painted ``symbol`` (else None)."""
    if chart.painted_symbol == symbol and tape.painted_symbol == symbol:
        return time.perf_counter()
    return None


def _tag(rate: float) -> str:
    """``20000`` → ``"20k"``: the suffix of a figure taken at that rate."""
    return f"{rate / 1000:g}k"


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def _until(cond: Callable[[], Any], limit: float) -> Any:
    """Poll ``cond`` every 2 ms until it is truthy (its value) or ``limit`` s pass (None)."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        value = cond()
        if value:
            return value
        await asyncio.sleep(0.002)
    return None


def _moved(watchlist: Any, before: str | None) -> str | None:
    selected: str | None = watchlist.selected
    return selected if selected != before else None


async def measure(
    corpus: Corpus,
    rate: float,
    *,
    warmup: float,
    window: float,
    switches: int,
    symbols: list[str],
    state: Any,
) -> Result:
    """One app, fed at ``rate``: frames over ``window`` seconds, then ``switches`` switches."""
    from ticktape.config import Settings
    from ticktape.ui.app import TicktapeApp

    config = Path(tempfile.mkdtemp(prefix="ticktape-bench-")) / "config.toml"
    settings = Settings(watchlist=tuple(symbols), fps=10.0, config_path=config)
    feeder = Feeder(corpus, state, rate)
    app = TicktapeApp(settings, state=state, connect=False, clock=lambda: feeder.last_ms)
    probe = Probe()
    app.frames.listeners.append(probe.on_frame)
    screen = app.main
    screen._on_timer_update = probe.wrap_update(screen._on_timer_update)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE):
        chart, tape = screen.chart, screen.tape
        feed = asyncio.create_task(feeder.run())
        try:
            await asyncio.sleep(warmup)  # first paints, caches
            probe.recording = True
            wall0, cpu0, frames0 = time.perf_counter(), _cpu(), probe.frame_calls
            await asyncio.sleep(window)
            wall, cpu = time.perf_counter() - wall0, _cpu() - cpu0
            fps = (probe.frame_calls - frames0) / wall
            probe.recording = False
            latencies: list[float] = []
            watchlist, step = screen.watchlist, 1
            jitter = random.Random(0)
            while len(latencies) < switches:
                # A random gap, so presses land at random phases of the frame timer.
                await asyncio.sleep(0.05 + 0.1 * jitter.random())
                order = watchlist.display_order
                before = watchlist.selected
                index = order.index(before) if before in order else 0
                if not 0 <= index + step < len(order):
                    step = -step
                t0 = time.perf_counter()
                # Not pilot.press: it waits for the app to go idle, which it never does under load.
                app.simulate_key("down" if step > 0 else "up")
                target = await _until(partial(_moved, watchlist, before), 5.0)
                painted = (
                    None
                    if target is None
                    else await _until(partial(_painted, chart, tape, target), 5.0)
                )
                if painted is None:
                    raise Unavailable("the app did not repaint the new symbol within 5 s")
                latencies.append((painted - t0) * 1000.0)
        finally:
            feed.cancel()
    tag = _tag(rate)
    return {
        f"frame_p50_ms_{tag}": percentile(probe.frames_ms, 50),
        f"frame_p95_ms_{tag}": percentile(probe.frames_ms, 95),
        f"switch_p50_ms_{tag}": percentile(latencies, 50),
        f"switch_p95_ms_{tag}": percentile(latencies, 95),
        f"ui_cpu_cores_{tag}": cpu / wall,
        f"ui_fps_{tag}": fps,
    }


def run(
    corpus: Corpus,
    *,
    warmup: float = 1.0,
    window: float = 10.0,
    switches: int = 50,
    rounds: int = 3,
    rates: tuple[int, ...] = RATES,
) -> Result:
    """Each rate ``rounds`` times (fresh app each), medians; headline figures at the top rate."""
    require("ticktape.market", "ticktape.sim.market", "ticktape.ui.app")
    symbols = busiest_symbols(corpus, WATCHLIST)
    out: Result = {}
    for rate in RATES:
        runs = [
            asyncio.run(
                measure(
                    corpus,
                    rate,
                    warmup=warmup,
                    window=window,
                    switches=switches,
                    symbols=symbols,
                    state=seeded_state(symbols, corpus.seed),
                )
            )
            for _ in range(rounds)
        ]
        for key in runs[0]:
            out[key] = median([float(r[key]) for r in runs])  # type: ignore[arg-type]
    top = _tag(max(rates))
    for figure in ("switch_p95_ms", "switch_p50_ms", "frame_p95_ms", "frame_p50_ms"):
        out[figure] = out[f"{figure}_{top}"]
    out["ui_switches"] = switches
    return out
