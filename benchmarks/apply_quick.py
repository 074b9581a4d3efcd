"""Quick check of decode and decode+apply speed on a synthetic corpus.

Not the benchmark suite (that is ``python -m benchmarks``): a few seconds, one
process, to see at once whether a change to market/ helped or hurt.

    .venv/bin/python benchmarks/apply_quick.py [--events 400000] [--symbols 500] [--runs 5]

The corpus: frames of 1-500 events (sizes drawn from a spread that includes
whole-market bursts), about half quotes, half trades (a third of them with
sale conditions: odd lots, ISO, extended hours), and a few AM bars, encoded
with ticktape's own Structs. Each figure is the median of several runs.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from ticktape.feed.decode import Decoder
from ticktape.feed.events import Event, MinuteAgg, Quote, Trade, encode
from ticktape.market import MarketState

_CONDITIONS: list[tuple[int, ...]] = [(), (), (), (), (37,), (14, 41), (12,), (12, 37), (14,)]
_FRAME_SIZES = (1, 1, 2, 5, 10, 20, 50, 100, 200, 500)


def corpus(events: int, symbols: int, seed: int = 1) -> list[bytes]:
    """Encoded frames of mixed Q/T/AM events, deterministic for a seed."""
    rng = random.Random(seed)
    names = [f"S{i:04d}" for i in range(symbols)]
    price = {s: rng.uniform(5, 500) for s in names}
    t = 1_700_000_000_000
    frames: list[bytes] = []
    n = 0
    while n < events:
        frame: list[Event] = []
        for _ in range(min(rng.choice(_FRAME_SIZES), events - n)):
            s = rng.choice(names)
            t += rng.randint(0, 3)
            p = price[s]
            r = rng.random()
            if r < 0.5:
                frame.append(
                    Quote(
                        symbol=s,
                        bid=round(p - 0.01, 2),
                        ask=round(p + 0.01, 2),
                        bid_size=rng.randint(1, 9) * 100,
                        ask_size=rng.randint(1, 9) * 100,
                        timestamp=t,
                        bid_exchange=11,
                        ask_exchange=12,
                        sequence=n,
                        tape=3,
                    )
                )
            elif r < 0.99:
                p = price[s] = round(max(0.01, p + rng.choice((-0.02, -0.01, 0, 0.01, 0.02))), 2)
                frame.append(
                    Trade(
                        symbol=s,
                        price=p,
                        size=rng.randint(1, 500),
                        timestamp=t,
                        exchange=rng.randint(1, 20),
                        id=str(n),
                        tape=3,
                        conditions=rng.choice(_CONDITIONS),
                        sequence=n,
                    )
                )
            else:
                m = t - t % 60_000 - 60_000
                frame.append(
                    MinuteAgg(
                        symbol=s,
                        open=p,
                        high=p + 0.05,
                        low=p - 0.05,
                        close=p,
                        volume=5_000,
                        start=m,
                        end=m + 60_000,
                        day_volume=1_000_000,
                        day_open=p,
                        vwap=p,
                        day_vwap=p,
                        avg_size=50,
                    )
                )
            n += 1
        frames.append(encode(frame))
    return frames


def measure(frames: list[bytes], runs: int) -> dict[str, float]:
    """Median events/s: decode alone, decode+apply on a fresh state, and on a replay.

    "fresh" is the live case (time moves forward, rings fill and wrap as they
    go). "replay" pushes the same corpus again into the warmed state, so its
    trades land in minutes that already have bars (the slow path for late
    prints) - a pessimistic figure, given because benchmarks often replay.
    CPU time (process_time) is used so that other processes on a shared
    machine do not count against us.
    """
    dec = Decoder()
    count = sum(len(dec.decode(f)) for f in frames)
    rates: dict[str, list[float]] = {"decode": [], "fresh": [], "replay": []}
    clock = time.process_time
    for _ in range(runs):
        start = clock()
        for f in frames:
            dec.decode(f)
        rates["decode"].append(count / (clock() - start))
        state = MarketState()
        start = clock()
        for f in frames:
            state.apply(dec.decode(f), 0)
        rates["fresh"].append(count / (clock() - start))
        start = clock()
        for f in frames:
            state.apply(dec.decode(f), 0)
        rates["replay"].append(count / (clock() - start))
    out = {k: statistics.median(v) for k, v in rates.items()}
    out["events"] = count
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=400_000)
    ap.add_argument("--symbols", type=int, default=500)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    frames = corpus(args.events, args.symbols)
    r = measure(frames, args.runs)
    print(f"corpus: {r['events']:,.0f} events in {len(frames):,} frames, {args.symbols} symbols")
    print(f"decode                   {r['decode']:>12,.0f} events/s")
    for key, label in (("fresh", "decode + apply (live)"), ("replay", "decode + apply (replay)")):
        print(f"{label:24s} {r[key]:>12,.0f} events/s  ({r[key] / r['decode']:.0%} of decode)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
