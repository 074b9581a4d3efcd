"""The whole-market view under a market-wide stream: cursor-move latency, headless.

The app runs with no session (``connect=False``) and the market view open; a
feeder task on the app's loop hands decoded corpus frames (every channel of
2,000 symbols: T, Q, A, AM, LULD, NOI) to the app's own event entry, as the
session would, at ``RATE`` events/s or as fast as the loop allows. The movers board is
seeded as the snapshot request on opening would (the watchlist symbols' last
and previous close); the stream's minute bars then re-rank it. The figure
``market_view_switch_p95_ms`` is the time from a ``j``/``k`` press on the movers
board to the board *rendering* the newly selected symbol (its ``render`` is
wrapped on the instance), polled every 2 ms. See docs/market-view.md.

Two hooks are used, as Textual and the app have no other:
``app.feed.on_events`` (what the session calls with each decoded frame)
and the board's ``render`` wrapped on the instance.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, Final

from benchmarks import Result, Unavailable, median, percentile, require
from benchmarks.bench_ui import SIZE, _until, busiest_symbols, seeded_state
from benchmarks.corpus import START_MS, Corpus

RATE: Final = 100_000
WATCHLIST: Final = 20


class _Feeder:
    """Decoded frames into ``deliver`` at ``rate`` events/s (never ahead; behind, flat out)."""

    def __init__(self, corpus: Corpus, deliver: Callable[[Any, int], None], rate: float) -> None:
        from ticktape.feed.decode import Decoder

        self._frames = corpus.frames
        self._decode = Decoder().decode
        self._deliver = deliver
        self._rate = rate
        self.last_ms = START_MS
        self.sent = 0

    async def run(self) -> None:
        start = time.perf_counter()
        while True:
            for frame in self._frames:
                events = self._decode(frame)
                self._deliver(events, self.last_ms)
                self.last_ms = max(self.last_ms, events[-1].time_ms)
                self.sent += len(events)
                ahead = start + self.sent / self._rate - time.perf_counter()
                await asyncio.sleep(max(0.0, ahead))


def _snapshot_movers(state: Any, symbols: list[str]) -> list[Any]:
    """What the snapshot request on opening would give: each symbol's last and previous
    close (the seeded history's), so the gainers board ranks before any minute bar."""
    from ticktape.market.wholemarket import Mover

    out = []
    for symbol in symbols:
        s = state.get(symbol)
        if s is not None and s.last is not None:
            out.append(Mover(symbol, s.last, s.prev_close, s.volume, s.volume * s.last))
    return out


def _moved(board: Any, before: str | None) -> str | None:
    selected: str | None = board.selected
    return selected if selected != before else None


def _rendered(seen: list[str | None], target: str | None) -> float | None:
    return time.perf_counter() if target is not None and target in seen else None


async def measure(corpus: Corpus, *, warmup: float, switches: int, symbols: list[str]) -> Result:
    from ticktape.config import Settings
    from ticktape.ui.app import TicktapeApp
    from ticktape.ui.marketview import MarketScreen

    config = Path(tempfile.mkdtemp(prefix="ticktape-bench-")) / "config.toml"
    settings = Settings(watchlist=tuple(symbols), fps=10.0, config_path=config)
    state = seeded_state(symbols, corpus.seed)
    feeder: _Feeder
    app = TicktapeApp(settings, state=state, connect=False, clock=lambda: feeder.last_ms)
    feeder = _Feeder(corpus, app.feed.on_events, RATE)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        screen = await _until(lambda: isinstance(app.screen, MarketScreen) and app.screen, 10.0)
        if not screen:
            raise Unavailable("the market view did not open")
        assert app.market_view.boards is not None
        app.market_view.boards.movers.seed(_snapshot_movers(state, symbols))
        board = screen.board("movers")
        seen: list[str | None] = []
        original = board.render

        def render() -> Any:
            seen.append(board.selected)
            return original()

        board.render = render
        feed = asyncio.create_task(feeder.run())
        try:
            if not await _until(lambda: len(board.rows) >= 3, 30.0):
                raise Unavailable("no movers on the board after 30 s of feed")
            await asyncio.sleep(warmup)
            t_feed, sent0 = time.perf_counter(), feeder.sent
            latencies: list[float] = []
            step, jitter = 1, random.Random(0)
            while len(latencies) < switches:
                await asyncio.sleep(0.05 + 0.1 * jitter.random())
                if not 0 <= board.cursor + step < len(board.rows):
                    step = -step
                before = board.selected
                seen.clear()
                t0 = time.perf_counter()
                app.simulate_key("j" if step > 0 else "k")
                moved = await _until(partial(_moved, board, before), 5.0)
                done = await _until(partial(_rendered, seen, moved), 5.0)
                if done is None:
                    raise Unavailable("the board did not render the new selection within 5 s")
                latencies.append((done - t0) * 1000.0)
            rate = (feeder.sent - sent0) / (time.perf_counter() - t_feed)
        finally:
            feed.cancel()
    return {
        "market_view_switch_p95_ms": percentile(latencies, 95),
        "market_view_switch_p50_ms": percentile(latencies, 50),
        "market_view_events_per_s": rate,
    }


def run(corpus: Corpus, *, warmup: float = 1.0, switches: int = 50, rounds: int = 3) -> Result:
    """``rounds`` fresh apps, medians of each figure."""
    require("ticktape.market", "ticktape.sim.market", "ticktape.ui.app")
    symbols = busiest_symbols(corpus, WATCHLIST)
    runs = [
        asyncio.run(measure(corpus, warmup=warmup, switches=switches, symbols=symbols))
        for _ in range(rounds)
    ]
    out: Result = {k: median([float(r[k]) for r in runs]) for k in runs[0]}  # type: ignore[arg-type]
    out["market_view_switches"] = switches
    return out
