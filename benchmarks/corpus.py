"""The one fixed corpus every benchmark reads: seeded frames from the simulator's market.

Why the simulator and not hand-made events: its stream has the shape of the
real one (quotes outnumber trades, per-second bars after each busy second,
sale conditions, LULD bands, the odd imbalance), so the decoder and the
market state do the work they do live.

Shape: 2,000 stock symbols; the time-ordered stream is cut into frames whose
sizes are drawn log-uniformly from 1 to 500 events (the live server batches
whatever arrived together); every run of minute bars (``AM``) at a minute
boundary stays whole, one frame for the whole market, as the live server
sends them. The market clock runs at ``SPEED``× so a few hundred thousand
events span several minutes and carry minute bars.

Generating takes a while (each of 2,000 symbols first generates its day so
far), so the frames are cached in the temp directory under a key made of the
parameters and the source of the generator: a change to the simulator makes
a fresh corpus, repeated runs read the file in a fraction of a second.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import ticktape.feed.events as events_module
from ticktape.feed.events import Event, MinuteAgg, encode

#: A Wednesday, 10:30 New York time: the market is open, so every channel flows.
START_MS: Final = int(datetime(2026, 3, 11, 14, 30, tzinfo=UTC).timestamp() * 1000)
SYMBOLS: Final = 2_000
EVENTS: Final = 400_000
SEED: Final = 7
RATE: Final = 40_000.0  # primary events per wall second handed to SimMarket
SPEED: Final = 15.0  # market clock speed-up: ~10 s of generation spans ~2.5 market minutes
STEP_MS: Final = 50  # wall step between advance() calls (the server's tick is 20 ms)
MAX_FRAME: Final = 500
_LEN: Final = struct.Struct("<I")


@dataclass(frozen=True)
class Corpus:
    """Encoded frames (each a JSON array, as the server sends them) and what is in them."""

    frames: list[bytes]
    events: int
    symbols: int
    seed: int
    _texts: list[str] = field(default_factory=list, repr=False, compare=False)

    @property
    def texts(self) -> list[str]:
        """The frames as ``str``: what the official client's ``recv()`` hands its parser."""
        if not self._texts:
            self._texts.extend(f.decode() for f in self.frames)
        return self._texts

    @property
    def size_bytes(self) -> int:
        return sum(len(f) for f in self.frames)


def symbol_names(n: int) -> list[str]:
    """``n`` distinct, deterministic ticker-like names (``AAPL`` style, 3-4 letters)."""
    rng = random.Random(f"symbols-{n}")
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    names: dict[str, None] = {}
    while len(names) < n:
        names["".join(rng.choices(letters, k=rng.choice((3, 4, 4))))] = None
    return list(names)


def _frame_sizes(rng: random.Random) -> Iterator[int]:
    """Log-uniform sizes in [1, MAX_FRAME]: many small frames, a long tail of big ones."""
    top = math.log(MAX_FRAME + 1)
    while True:
        yield min(MAX_FRAME, int(math.exp(rng.uniform(0.0, top))))


def cut_frames(stream: list[Event], seed: int) -> list[list[Event]]:
    """Cut a time-ordered stream into frames; each run of minute bars is one whole frame."""
    sizes = _frame_sizes(random.Random(seed))
    frames: list[list[Event]] = []
    i, n = 0, len(stream)
    while i < n:
        if type(stream[i]) is MinuteAgg:
            j = i
            while j < n and type(stream[j]) is MinuteAgg:
                j += 1
        else:
            j = i + next(sizes)
            for k in range(i, min(j, n)):  # a size cut never splits a minute-bar run
                if type(stream[k]) is MinuteAgg:
                    j = k
                    break
        frames.append(stream[i:j])
        i = j
    return frames


def generate(events: int = EVENTS, symbols: int = SYMBOLS, seed: int = SEED) -> list[bytes]:
    """Run SimMarket until it has produced ``events`` events; cut and encode them."""
    from ticktape.sim.market import SimMarket

    market = SimMarket(
        "stocks",
        seed=seed,
        symbols=symbol_names(symbols),
        rate=RATE,
        speed=SPEED,
        start_ms=START_MS,
    )
    for name in market.universe[:symbols]:
        market.ensure(name)
    stream: list[Event] = []
    wall = START_MS
    while len(stream) < events:
        wall += STEP_MS
        stream.extend(market.advance(wall))
    del stream[events:]
    return [encode(frame) for frame in cut_frames(stream, seed)]


def _cache_key(events: int, symbols: int, seed: int) -> str:
    """Parameters plus the generator's source: a changed simulator means a fresh corpus."""
    h = hashlib.sha256(f"{events}/{symbols}/{seed}/{RATE}/{SPEED}/{STEP_MS}/{MAX_FRAME}".encode())
    sim_dir = Path(events_module.__file__).parent.parent / "sim"
    for path in sorted([*sim_dir.glob("*.py"), Path(events_module.__file__), Path(__file__)]):
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _write(path: Path, frames: list[bytes]) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        for frame in frames:
            fh.write(_LEN.pack(len(frame)))
            fh.write(frame)
    tmp.replace(path)  # atomic: a concurrent run never reads half a file


def _read(path: Path) -> list[bytes]:
    data = path.read_bytes()
    frames: list[bytes] = []
    pos = 0
    while pos < len(data):
        (size,) = _LEN.unpack_from(data, pos)
        pos += _LEN.size
        frames.append(data[pos : pos + size])
        pos += size
    return frames


def cache_path(events: int = EVENTS, symbols: int = SYMBOLS, seed: int = SEED) -> Path:
    key = _cache_key(events, symbols, seed)
    return Path(tempfile.gettempdir()) / f"ticktape-bench-corpus-{key}.bin"


def load(
    events: int = EVENTS, symbols: int = SYMBOLS, seed: int = SEED, *, cache: bool = True
) -> Corpus:
    """The corpus for these parameters, from the cache when it is there."""
    path = cache_path(events, symbols, seed)
    if cache and path.exists():
        frames = _read(path)
    else:
        frames = generate(events, symbols, seed)
        if cache:
            _write(path, frames)
    return Corpus(frames, events, symbols, seed)
