"""Memory: resident set size after 1 M and after 10 M events through decode + apply.

Each run is a fresh process (``spawn``), so the figure is the state's memory
and nothing the parent had allocated. The child decodes the corpus frame by
frame and applies it to one MarketState, lap after lap; the corpus holds
2,000 symbols, so every symbol's rings and bars are exercised. Each lap's
events are moved forward in time by the corpus' span (rounded up to whole
minutes, so bar boundaries stay aligned), so ten million events look like
one long session and not the same minutes replayed: bars keep accumulating
as they would live, and the bounded rings wrap.

RSS is read after a full ``gc.collect()``. The baseline (interpreter,
imports, the corpus bytes) is reported too: the growth from 1 M to 10 M is
computed on the whole RSS, as a user would see it in ``top``.
"""

from __future__ import annotations

import gc
import math
import multiprocessing
from multiprocessing.connection import Connection
from typing import Any, Final

from benchmarks import Result, Unavailable, median, require
from benchmarks.corpus import Corpus

CHECKPOINTS: Final = (1_000_000, 10_000_000)
_MINUTE: Final = 60_000
_MB: Final = 1024 * 1024


def _scale(t: int) -> int:
    """Wire units of a timestamp, judged by magnitude: 1 ms, 1,000 µs or 1,000,000 ns."""
    return 1 if t < 10**14 else 1_000 if t < 10**17 else 1_000_000


def shift_events(events: list[Any], shift_ms: int) -> None:
    """Move every event's time fields ``shift_ms`` later, in its own wire units."""
    for ev in events:
        if hasattr(ev, "timestamp"):
            t = ev.timestamp
            ev.timestamp = t + shift_ms * _scale(t)
        if getattr(ev, "trf_timestamp", None):
            ev.trf_timestamp += shift_ms * _scale(ev.trf_timestamp)
        if hasattr(ev, "start"):
            ev.start += shift_ms
            if ev.end:
                ev.end += shift_ms


def _rss() -> int:
    gc.collect()
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    import resource

    return pages * resource.getpagesize()


def _child(conn: Connection) -> None:
    frames, checkpoints = conn.recv()
    conn.send(feed(frames, checkpoints))


def feed(frames: list[bytes], checkpoints: tuple[int, ...]) -> dict[int, int]:
    """Decode+apply laps of ``frames`` into one state; RSS (bytes) at each checkpoint (0: base)."""
    from ticktape.feed.decode import Decoder
    from ticktape.market import MarketState

    decode = Decoder().decode
    state = MarketState()
    first, last = decode(frames[0])[0].time_ms, decode(frames[-1])[-1].time_ms
    span = math.ceil((last - first + 1) / _MINUTE) * _MINUTE
    out = {0: _rss()}
    todo = sorted(checkpoints)
    n = lap = 0
    while todo:
        shift = lap * span
        for frame in frames:
            events = decode(frame)
            if shift:
                shift_events(events, shift)
            state.apply(events, events[-1].time_ms)
            n += len(events)
            if n >= todo[0]:
                out[todo.pop(0)] = _rss()
                if not todo:
                    break
        lap += 1
    return out


def measure_once(corpus: Corpus, checkpoints: tuple[int, ...]) -> dict[int, int]:
    """One fresh child process; its RSS at each checkpoint."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_child, args=(child,), daemon=True)
    proc.start()
    child.close()
    try:
        parent.send((corpus.frames, checkpoints))
        if not parent.poll(1800):
            raise Unavailable("the memory child did not answer")
        result: dict[int, int] = parent.recv()
    except EOFError as err:
        raise Unavailable(f"the memory child died (exit code {proc.exitcode})") from err
    finally:
        proc.join(30)
        if proc.is_alive():
            proc.kill()
            proc.join()
    return result


def run(corpus: Corpus, *, checkpoints: tuple[int, int] = CHECKPOINTS, rounds: int = 3) -> Result:
    """Medians over fresh processes: RSS at both checkpoints, and the growth between them."""
    require("ticktape.market")
    small, big = checkpoints
    runs = [measure_once(corpus, checkpoints) for _ in range(rounds)]
    growth = [100.0 * (r[big] - r[small]) / r[small] for r in runs]
    return {
        "rss_mb_base": median([r[0] / _MB for r in runs]),
        "rss_mb_1m": median([r[small] / _MB for r in runs]),
        "rss_mb_10m": median([r[big] / _MB for r in runs]),
        "mem_growth_pct": median(growth),
        "mem_events_small": small,
        "mem_events_big": big,
        "mem_rounds": rounds,
    }
