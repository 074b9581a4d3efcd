"""How long the simulator takes to answer a whole-market snapshot, inside its event loop.

``python -m benchmarks.sim_snapshot``: the app's simulated market (``--listed 3000``), traded
for a while, then the ``tickers`` and ``gainers`` bodies built and encoded, first and later
calls. See docs/market-view.md (snapshots).
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime

import msgspec

from ticktape.sim import snapshots
from ticktape.sim.market import SimMarket
from ticktape.sim.process import APP_LISTED, APP_RATE
from ticktape.timeutil import zone

#: A Wednesday morning: the regular session has traded for an hour.
START = int(datetime(2026, 12, 2, 10, 40, tzinfo=zone("America/New_York")).timestamp() * 1000)


def _body_ms(market: SimMarket, what: str) -> float:
    t0 = time.perf_counter()
    msgspec.json.encode(snapshots.snapshot_body(market, what))
    return (time.perf_counter() - t0) * 1000


def run(seconds: float = 120.0, rounds: int = 5, listed: int = APP_LISTED) -> dict[str, float]:
    """Milliseconds per body after ``seconds`` of market time: the first call, then the median."""
    market = SimMarket(seed=1, rate=APP_RATE, start_ms=START, listed=listed)
    t = START
    while t < START + seconds * 1000:  # 20 ms ticks, as the server's
        t += 20
        market.advance(t)
    out = {"tickers_first_ms": _body_ms(market, "tickers")}
    out["gainers_first_ms"] = _body_ms(market, "gainers")
    for what in ("tickers", "gainers"):
        laps = []
        for _ in range(rounds):
            t += 1000
            market.advance(t)
            laps.append(_body_ms(market, what))
        out[f"{what}_ms"] = statistics.median(laps)
    out["symbols"] = len(market.universe)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=120.0)
    args = parser.parse_args()
    print(run(args.seconds))
