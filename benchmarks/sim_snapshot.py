"""How long the simulator takes to answer a whole-market snapshot, inside its event loop.

``python -m benchmarks.sim_snapshot``: the app's simulated market (``--listed 3000``), traded
for a while, then the ``tickers`` and ``gainers`` bodies built and encoded, first and later
calls. See docs/market-view.md (snapshots).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import time
from datetime import datetime

import msgspec
from websockets.asyncio.client import connect

from ticktape.feed.rest import RestClient
from ticktape.sim import snapshots
from ticktape.sim.market import SimMarket
from ticktape.sim.process import APP_LISTED, APP_RATE
from ticktape.sim.server import Simulator
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


def _worst_gap_ms(arrivals: list[float], lo: float, hi: float) -> float:
    inside = [t for t in arrivals if lo <= t <= hi]
    return max((b - a for a, b in itertools.pairwise(inside)), default=0.0) * 1000


async def stream_gap(listed: int = APP_LISTED, warm_s: float = 6.0) -> dict[str, float]:
    """The worst pause of a ``T.*`` client's frames while another client asks for the whole
    snapshot, against the worst pause of an equally long quiet stretch just before."""
    async with (
        Simulator(api_key="k", listed=listed, rate=APP_RATE) as sim,
        RestClient(sim.rest_url, "k") as rest,
        connect(f"{sim.ws_url}/stocks") as ws,
    ):
        await ws.send(json.dumps({"action": "auth", "params": "k"}))
        await ws.send(json.dumps({"action": "subscribe", "params": "T.*,Q.*"}))
        arrivals: list[float] = []

        async def read() -> None:
            async for _ in ws:
                arrivals.append(time.perf_counter())

        reader = asyncio.create_task(read())
        await asyncio.sleep(warm_s)  # the whole market has joined and trades
        t0 = time.perf_counter()
        snaps = await rest.snapshot_all()
        t1 = time.perf_counter()
        await asyncio.sleep(0.2)
        reader.cancel()
    span = t1 - t0
    return {
        "snapshot_tickers": len(snaps),
        "snapshot_request_ms": span * 1000,
        "gap_during_ms": _worst_gap_ms(arrivals, t0, t1 + 0.1),
        "gap_quiet_ms": _worst_gap_ms(arrivals, t0 - span - 0.2, t0),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=120.0)
    args = parser.parse_args()
    print(run(args.seconds))
    print(asyncio.run(stream_gap()))
