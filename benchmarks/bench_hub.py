"""The hub: upstream process → hub process → N reader processes, on loopback.

* ``hub_fanout_events_per_s_{1,4,16}``: the corpus, paced, into the hub's one
  upstream session; N readers subscribe to everything (the pass-through path:
  upstream bytes relayed undecoded). The figure is the highest input rate that
  held for the whole window with no reader cut and every reader keeping up
  (received ≥ 95 % of what came in).
* ``hub_subset_events_per_s_4``: the same with 4 readers, each subscribed to a
  different quarter of the symbols (the re-encode path).
* ``hub_*_cpu_us_per_event_*``: the hub process's CPU time per event in over
  the confirming run; on a shared machine the rates say what the machine
  allowed, this says what the hub costs (1 / it is the rate one idle core
  would carry). ``hub_*_upstream_us_per_event_*`` and ``..._readers_...`` are
  the feeder's and the readers' (all of them): every process of the rig runs on
  the same cores (``hub_cores``, 2 here), so what they take, the hub lacks.
* ``hub_added_latency_p99_ms``: at 50,000 events/s, a reader on the hub and a
  reader on the upstream directly take the same frames; p99 of (via hub −
  direct) receive time of the same frame, both clocks in one process.

The feeder replays the pre-encoded corpus unchanged, lap after lap, paced (the
hub never reads a time; only the latency run shifts laps and stamps frames).
Readers do not decode: they count ``{`` in the raw byte stream in place (after
a hand-made WebSocket handshake), which costs a fraction of what the hub does.
Rates step down from a start rate until one holds (short probes), then a
full-length run confirms it. See docs/hub.md, "What it costs".
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import multiprocessing
import os
import socket
import struct
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Final, overload

from benchmarks import Result, percentile, require
from benchmarks.bench_e2e import LoopedStream
from benchmarks.corpus import Corpus, symbol_names
from benchmarks.laps import LapShifter

KEY: Final = "bench-upstream-key"
TOKEN: Final = "bench-hub-token"
EVERYTHING: Final = "T.*,Q.*,A.*,AM.*,LULD.*,NOI.*"
KEEP_UP: Final = 0.95
BACKOFF: Final = 0.75
LATENCY_RATE: Final = 50_000.0

# -- the upstream (child process) ----------------------------------------------------------


def _upstream_main(conn: Connection, frames: list[bytes]) -> None:
    asyncio.run(_upstream(conn, frames))


class PacedLaps(Sequence[bytes]):
    """The corpus lap after lap, as it is, paced to ``rate`` events/s for ``seconds``.

    For the fan-out runs: the hub relays bytes and never reads a time, and the
    readers only count, so the laps are not shifted in time and no frame is
    stamped (both ``bytes`` work per frame that made the feeder cost as much CPU
    as the hub on the same 2 cores). The latency run uses the stamped stream.
    """

    def __init__(self, frames: list[bytes], counts: list[int], seconds: float, rate: float) -> None:
        self._frames, self._counts = frames, counts
        self._seconds, self._rate = seconds, rate

    def __len__(self) -> int:
        return len(self._frames)

    @overload
    def __getitem__(self, i: int) -> bytes: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[bytes]: ...
    def __getitem__(self, i: int | slice) -> bytes | Sequence[bytes]:
        return self._frames[i]

    def __iter__(self) -> Iterator[bytes]:
        start = time.perf_counter()
        deadline, rate, sent = start + self._seconds, self._rate, 0
        clock, sleep = time.perf_counter, time.sleep
        while True:
            for frame, count in zip(self._frames, self._counts, strict=True):
                now = clock()
                if now >= deadline:
                    return
                ahead = start + sent / rate - now
                if ahead > 0.002:
                    sleep(ahead)  # blocking is fine: this process only sends
                sent += count
                yield frame


async def _upstream(conn: Connection, frames: list[bytes]) -> None:
    from ticktape.sim.server import Simulator

    shifter = LapShifter(frames)
    counts = [f.count(b"{") for f in frames]
    # Any key: the direct reader of the latency run must not take the hub's key's slot.
    async with Simulator(rate=1.0, ping_interval=None) as sim:
        conn.send(sim.ws_url)
        loop = asyncio.get_running_loop()
        while True:
            order = await loop.run_in_executor(None, conn.recv)
            if order is None:
                return
            seconds, rate, clients, stamped = order
            while sim.connections < clients:  # noqa: ASYNC110 - no event for this
                await asyncio.sleep(0.005)
            if stamped:
                await sim.blast(LoopedStream(frames, seconds, rate, shifter))
            else:
                await sim.blast(PacedLaps(frames, counts, seconds, rate))
            conn.send("sent")


# -- the hub (child process) ------------------------------------------------------------------


def _hub_main(conn: Connection, upstream_url: str) -> None:
    asyncio.run(_hub(conn, upstream_url))


async def _hub(conn: Connection, upstream_url: str) -> None:
    from ticktape.hub.relay import Hub

    async with Hub(upstream_url=upstream_url, api_key=KEY, token=TOKEN, ping_interval=None) as hub:
        conn.send(hub.server.port)
        loop = asyncio.get_running_loop()
        while True:
            order = await loop.run_in_executor(None, conn.recv)
            if order is None:
                return
            stats = hub.server.stats
            up = hub.upstreams.get("stocks")
            conn.send(
                {
                    "events_in": stats.events_in,
                    "slow_consumers": stats.slow_consumers,
                    "clients": hub.server.connections,
                    "live": up is not None and up.session.status.state.value == "live",
                    "subscribed": len(up.session.subscribed) if up is not None else 0,
                }
            )


# -- a reader (child process) ------------------------------------------------------------------


def _client_frame(text: bytes) -> bytes:
    """One masked text frame, as a client must send it."""
    mask = os.urandom(4)
    n = len(text)
    if n < 126:
        head = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(text))
    return head + mask + body


def _open(port: int, params: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /stocks HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    reply = b""
    while b"\r\n\r\n" not in reply:
        reply += sock.recv(4096)
    if b" 101 " not in reply.split(b"\r\n", 1)[0]:
        raise RuntimeError(f"handshake refused: {reply[:80]!r}")
    for action, value in (("auth", TOKEN), ("subscribe", params)):
        sock.sendall(_client_frame(json.dumps({"action": action, "params": value}).encode()))
    return sock


def _reader_main(conn: Connection, port: int, params: str) -> None:
    """Count events in the raw stream until told to stop; report counts on request.

    An event is an object and no event nests one, so the count is the number of
    ``{`` in the bytes: one C pass over the receive buffer, no copy. Statuses are
    objects too, but they come at connect time (acks, the hub's words), before the
    measured window, whose figure is a difference of counts.
    """
    sock = _open(port, params)
    sock.settimeout(0.05)
    buf = bytearray(1 << 20)
    events = 0
    cut = False  # once the hub closes the socket, only answer (the run did not hold)
    conn.send("ready")
    while True:
        if cut or conn.poll():
            order = conn.recv()
            if order is None:
                break
            conn.send(events)
            continue
        try:
            n = sock.recv_into(buf)
        except TimeoutError:
            continue
        if n == 0:
            cut = True
            continue
        events += buf.count(b"{", 0, n)
    sock.close()


# -- orchestration ------------------------------------------------------------------------------


class Rig:
    """The upstream and hub processes, kept for every run."""

    def __init__(self, corpus: Corpus) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.ctx = ctx
        self.up_conn, child = ctx.Pipe()
        self.upstream = ctx.Process(target=_upstream_main, args=(child, corpus.frames))
        self.upstream.start()
        self.upstream_url: str = self.up_conn.recv()
        self.hub_conn, child = ctx.Pipe()
        self.hub = ctx.Process(target=_hub_main, args=(child, self.upstream_url))
        self.hub.start()
        self.port: int = self.hub_conn.recv()

    def hub_stats(self) -> dict[str, Any]:
        self.hub_conn.send("stats")
        stats: dict[str, Any] = self.hub_conn.recv()
        return stats

    def close(self) -> None:
        for conn, proc in ((self.hub_conn, self.hub), (self.up_conn, self.upstream)):
            with contextlib.suppress(OSError):
                conn.send(None)
            proc.join(10)
            if proc.is_alive():
                proc.kill()


def _wait(cond: Any, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not cond():
        if time.monotonic() > deadline:
            raise RuntimeError("the hub rig did not get ready in time")
        time.sleep(0.02)


@dataclass(frozen=True)
class Run:
    """One paced run: events/s in, whether it held, and CPU µs per event in, by process."""

    rate: float
    held: bool
    why: str
    hub_us: float
    upstream_us: float
    readers_us: float

    @property
    def rig_us(self) -> float:
        """Every process of the rig: 2 cores / this is what the machine could carry."""
        return self.hub_us + self.upstream_us + self.readers_us


def _cpu(procs: Sequence[Any]) -> float:
    """User + system seconds of these processes so far."""
    return sum(sum(p.cpu_times()[:2]) for p in procs)


def fanout_run(
    rig: Rig, params: Sequence[str], rate: float, seconds: float, warmup: float = 1.0
) -> Run:
    """One paced run with ``params`` as the readers' subscriptions.

    The CPU figures are each process's own user+system time over the window:
    what the hub costs whatever else the machine is doing, and what the feeder
    and the readers (on the same 2 cores) take from it.
    """
    import psutil

    readers = []
    for p in params:
        mine, theirs = rig.ctx.Pipe()
        proc = rig.ctx.Process(target=_reader_main, args=(theirs, rig.port, p))
        proc.start()
        readers.append((mine, proc))
    hub_proc, up_proc = psutil.Process(rig.hub.pid), psutil.Process(rig.upstream.pid)
    reader_procs = [psutil.Process(proc.pid) for _, proc in readers]
    try:
        for conn, _ in readers:
            conn.recv()
        _wait(lambda: rig.hub_stats()["clients"] == len(params))
        _wait(lambda: rig.hub_stats()["live"] and rig.hub_stats()["subscribed"] > 0)
        cuts0 = rig.hub_stats()["slow_consumers"]
        rig.up_conn.send((warmup + seconds + 0.5, rate, 1, False))
        time.sleep(warmup)
        in0 = rig.hub_stats()["events_in"]
        cpu0 = (_cpu([hub_proc]), _cpu([up_proc]), _cpu(reader_procs))
        got0 = _counts(readers)
        t0 = time.perf_counter()
        time.sleep(seconds)
        in1 = rig.hub_stats()["events_in"]
        cpu1 = (_cpu([hub_proc]), _cpu([up_proc]), _cpu(reader_procs))
        elapsed = time.perf_counter() - t0
        time.sleep(0.3)  # what was in flight at the end lands
        got1 = _counts(readers)
        rig.up_conn.recv()
        cuts = rig.hub_stats()["slow_consumers"] - cuts0
    finally:
        for conn, proc in readers:
            conn.send(None)
            proc.join(10)
            if proc.is_alive():
                proc.kill()
    came = in1 - in0
    share = sum(b - a for a, b in zip(got0, got1, strict=True)) / max(1, came)
    wanted = sum(p == EVERYTHING for p in params) or 1  # readers each event goes to
    held = cuts == 0 and share >= KEEP_UP * wanted
    why = "" if held else f"cuts={cuts} share={share:.2f}/{wanted}"
    us = [(b - a) * 1e6 / max(1, came) for a, b in zip(cpu0, cpu1, strict=True)]
    return Run(came / elapsed, held, why, *us)


def _counts(readers: list[tuple[Connection, Any]]) -> list[int]:
    for conn, _ in readers:
        conn.send("count")
    return [conn.recv() for conn, _ in readers]


def sustained(
    rig: Rig, params: Sequence[str], start: float, seconds: float, probe: float, probes: int
) -> tuple[Run | None, str]:
    """Step the rate down from ``start`` until a probe holds; confirm over ``seconds``.
    Returns (the confirming run, notes on runs that did not hold)."""
    rate, notes = start, []
    for _ in range(probes):
        run = fanout_run(rig, params, rate, probe)
        if run.held:
            rate = min(rate, run.rate * 1.05)
            break
        notes.append(f"{rate:,.0f}/s: {run.why}")
        rate *= BACKOFF
    for _ in range(2):
        run = fanout_run(rig, params, rate, seconds)
        if run.held:
            return run, "; ".join(notes)
        notes.append(f"{rate:,.0f}/s: {run.why}")
        rate *= BACKOFF
    return None, "; ".join(notes)


def _record(result: Result, name: str, run: Run | None) -> None:
    """``hub_<name>`` figures of a confirming run (None when no rate held)."""
    result[f"hub_{name.format('events_per_s')}"] = run.rate if run else None
    result[f"hub_{name.format('cpu_us_per_event')}"] = run.hub_us if run else None
    result[f"hub_{name.format('upstream_us_per_event')}"] = run.upstream_us if run else None
    result[f"hub_{name.format('readers_us_per_event')}"] = run.readers_us if run else None


def quarter_params(symbols: Sequence[str], readers: int = 4) -> list[str]:
    chunks = [symbols[i::readers] for i in range(readers)]
    channels = ("T", "Q", "A", "AM", "LULD", "NOI")
    return [",".join(f"{c}.{s}" for s in chunk for c in channels) for chunk in chunks]


def _stamp(frame: bytes) -> int | None:
    """The send-time stamp the sender spliced into a frame's first quote (ms), if any."""
    if not frame.startswith(b'[{"ev":"Q"'):
        return None
    at = frame.find(b'"t":')
    digits = frame[at + 4 : at + 17]
    return int(digits) if at >= 0 and digits.isdigit() else None


async def _latency(rig: Rig, seconds: float) -> float | None:
    """p99 of (send → receive via the hub) minus p99 of (send → receive directly), in ms.

    The upstream stamps each target's frames as it hands them to that target's
    socket, so each path's lag is from its own send; both readers share a clock.
    """
    from websockets.asyncio.client import connect

    lags: dict[str, list[float]] = {"hub": [], "direct": []}

    async def read(url: str, key: str, where: str) -> None:
        async with connect(url, max_size=None, ping_interval=None) as ws:
            await ws.send(json.dumps({"action": "auth", "params": key}))
            await ws.send(json.dumps({"action": "subscribe", "params": EVERYTHING}))
            book = lags[where]
            while True:
                frame = await ws.recv(decode=False)
                stamp = _stamp(frame)
                if stamp is not None:
                    book.append(time.time_ns() / 1e6 - stamp)

    tasks = [
        asyncio.create_task(read(f"ws://127.0.0.1:{rig.port}/stocks", TOKEN, "hub")),
        asyncio.create_task(read(f"{rig.upstream_url}/stocks", "direct-reader", "direct")),
    ]
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, _wait, lambda: rig.hub_stats()["clients"] == 1)
        await loop.run_in_executor(None, _wait, lambda: rig.hub_stats()["subscribed"] > 0)
        rig.up_conn.send((seconds, LATENCY_RATE, 2, True))
        await loop.run_in_executor(None, rig.up_conn.recv)
        await asyncio.sleep(0.5)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if not lags["hub"] or not lags["direct"]:
        return None
    return percentile(lags["hub"], 99) - percentile(lags["direct"], 99)


def run(
    corpus: Corpus,
    *,
    seconds: float = 30.0,
    probe: float = 4.0,
    probes: int = 4,
    fanouts: Sequence[int] = (1, 4, 16),
    start_rate: float = 1_200_000.0,
) -> Result:
    require("ticktape.hub.relay", "ticktape.server.engine")
    rig = Rig(corpus)
    result: Result = {}
    notes: list[str] = []
    try:
        for n in fanouts:
            run, why = sustained(rig, [EVERYTHING] * n, start_rate, seconds, probe, probes)
            _record(result, f"fanout_{{}}_{n}", run)
            if why:
                notes.append(f"fanout {n}: {why}")
        quarters = quarter_params(symbol_names(corpus.symbols))
        # The first subscription to each symbol makes the upstream simulator generate
        # its day so far (seconds for 2,000 symbols): a throwaway run pays for that.
        fanout_run(rig, quarters, start_rate / 2, probe)
        run, why = sustained(rig, quarters, start_rate / 2, seconds, probe, probes)
        _record(result, "subset_{}_4", run)
        if why:
            notes.append(f"subset 4: {why}")
        result["hub_added_latency_p99_ms"] = asyncio.run(_latency(rig, min(seconds, 10.0)))
    finally:
        rig.close()
    result["hub_seconds"] = seconds
    result["hub_cores"] = os.cpu_count()
    result["hub_notes"] = "; ".join(notes) or None
    return result
