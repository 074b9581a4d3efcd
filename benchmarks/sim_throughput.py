"""Events per second the simulator delivers to one fast local client.

    .venv/bin/python benchmarks/sim_throughput.py [--mode live|corpus|both] [--seconds 5]
                                                  [--rate 300000] [--frame-events 1000]

The server always runs in its own process (as when the app starts it), the
client in this one; the client decodes every frame with ticktape's Decoder and
counts events, so a figure is what a real client actually received.

* ``live``: ``ticktape sim --rate R``; the client subscribes to every stocks
  channel (``T.*,Q.*,A.*,AM.*,LULD.*,NOI.*``), so the figure covers generation,
  per-connection filtering, encoding and the socket. It cannot exceed ``R``.
* ``corpus``: the server pre-encodes frames from the market model and blasts
  them with :meth:`Simulator.blast` as fast as the socket takes them: the
  transport's ceiling, without generation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import time
from multiprocessing.connection import Connection

from websockets.asyncio.client import ClientConnection, connect

from ticktape.feed.decode import Decoder
from ticktape.feed.events import Event, encode
from ticktape.sim.process import SimProcess

ALL_STOCKS = "T.*,Q.*,A.*,AM.*,LULD.*,NOI.*"


async def _open(url: str) -> ClientConnection:
    ws = await connect(url, max_size=None, compression=None, max_queue=64)
    await ws.recv()  # connected
    await ws.send(json.dumps({"action": "auth", "params": "bench"}))
    await ws.recv()  # auth_success
    return ws


async def _count(
    ws: ClientConnection, seconds: float | None, expect: int | None
) -> dict[str, float]:
    """Decode frames for ``seconds`` (or until ``expect`` events); return the rates."""
    decoder = Decoder()
    events = frames = size = 0
    start = time.perf_counter()
    while True:
        data = await ws.recv(decode=False)
        frames += 1
        size += len(data)
        events += len(decoder.decode(data))
        elapsed = time.perf_counter() - start
        if (seconds is not None and elapsed >= seconds) or (
            expect is not None and events >= expect
        ):
            break
    return {
        "events_per_s": events / elapsed,
        "frames_per_s": frames / elapsed,
        "mb_per_s": size / elapsed / 1e6,
        "events_per_frame": events / frames,
        "decode_errors": decoder.stats.error_total,
    }


async def live(seconds: float, rate: float) -> dict[str, float]:
    with SimProcess("--rate", str(rate)) as sim:
        ws = await _open(f"{sim.ws_url}/stocks")
        await ws.send(json.dumps({"action": "subscribe", "params": ALL_STOCKS}))
        await _count(ws, 1.0, None)  # warm-up: let the generator reach its pace
        result = await _count(ws, seconds, None)
        await ws.close()
        return result


def _corpus(events: int, per_frame: int) -> list[bytes]:
    """Frames encoded from the market model's own events (a busy stretch of stocks)."""
    from ticktape.sim.market import SimMarket

    now = int(time.time() * 1000)
    market = SimMarket("stocks", seed=1, rate=events / 10, start_ms=now)
    out: list[Event] = market.advance(now + 10_000)
    return [encode(out[i : i + per_frame]) for i in range(0, len(out), per_frame)]


def _corpus_server(pipe: Connection, events: int, per_frame: int) -> None:
    from ticktape.sim.server import Simulator

    async def serve() -> None:
        frames = _corpus(events, per_frame)
        total = sum(len(Decoder().decode(f)) for f in frames)
        async with Simulator(rate=1) as sim:
            pipe.send((sim.ws_url, total))
            while sim.connections == 0:  # noqa: ASYNC110 - a counter, no event to await
                await asyncio.sleep(0.01)
            await sim.blast(frames)
            while sim.connections:  # noqa: ASYNC110 - as above
                await asyncio.sleep(0.05)

    asyncio.run(serve())


async def corpus(events: int, per_frame: int) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    proc = ctx.Process(target=_corpus_server, args=(theirs, events, per_frame), daemon=True)
    proc.start()
    try:
        url, total = await asyncio.to_thread(ours.recv)
        ws = await _open(f"{url}/stocks")
        result = await _count(ws, None, total)
        await ws.close()
        return result
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.terminate()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", choices=("live", "corpus", "both"), default="both")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--rate", type=float, default=300_000.0, help="live mode: sim --rate")
    p.add_argument("--events", type=int, default=1_000_000, help="corpus mode: corpus size")
    p.add_argument("--frame-events", type=int, default=1000, help="corpus mode: events a frame")
    args = p.parse_args()
    if args.mode in ("live", "both"):
        r = asyncio.run(live(args.seconds, args.rate))
        print(f"live   (--rate {args.rate:.0f}): " + _fmt(r))
    if args.mode in ("corpus", "both"):
        r = asyncio.run(corpus(args.events, args.frame_events))
        print(f"corpus ({args.events} events, {args.frame_events}/frame): " + _fmt(r))


def _fmt(r: dict[str, float]) -> str:
    return (
        f"{r['events_per_s']:,.0f} events/s, {r['frames_per_s']:,.0f} frames/s, "
        f"{r['mb_per_s']:.1f} MB/s, {r['events_per_frame']:.0f} events/frame, "
        f"{r['decode_errors']:.0f} decode errors"
    )


if __name__ == "__main__":
    main()
