"""Chart render cost: plotext 6 vs ticktape's hand-drawn candles, 60 and 200 bars at 120×30.

Run: ``.venv/bin/python benchmarks/chart_render.py [--repeat N]``. Prints the
median wall time per full chart build for each renderer. plotext's number
includes turning its ANSI output into a Rich ``Text`` (what a widget over
plotext has to do); ours includes building the Strips a widget hands out.
These numbers chose the renderer: see the docstring of ``ticktape.ui.candles``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text

from ticktape.ui.candles import plot_bars_plotext, render_candles


@dataclass(frozen=True, slots=True)
class _Bar:
    start_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float


def synthetic_bars(n: int, seed: int = 1) -> list[_Bar]:
    """A random walk of minute bars starting 09:30 New York time."""
    rng = random.Random(seed)
    start = 1_760_016_600_000  # 2025-10-09 13:30 UTC = 09:30 EDT
    price, out = 187.0, []
    for i in range(n):
        o = price
        c = price + rng.gauss(0, 0.15)
        h = max(o, c) + abs(rng.gauss(0, 0.08))
        lo = min(o, c) - abs(rng.gauss(0, 0.08))
        out.append(_Bar(start + 60_000 * i, o, h, lo, c, rng.randint(1_000, 90_000)))
        price = c
    return out


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm up (imports, caches)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    width, height = 120, 30
    print(
        f"{'candles':>7}  {'plotext+from_ansi':>17}  {'hand-drawn':>10}  ratio   ({width}x{height})"
    )
    for n in (60, 200):
        bars = synthetic_bars(n)
        last = bars[-1].close
        plotext_ms = _median_ms(
            lambda bars=bars: Text.from_ansi(plot_bars_plotext(bars, width, height)), args.repeat
        )
        ours_ms = _median_ms(
            lambda bars=bars, last=last: render_candles(bars, width, height, last_price=last),
            args.repeat,
        )
        print(f"{n:>7}  {plotext_ms:>14.1f} ms  {ours_ms:>7.2f} ms  {plotext_ms / ours_ms:>5.0f}x")


if __name__ == "__main__":
    main()
