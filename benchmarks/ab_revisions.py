"""Decode and decode + apply of an earlier revision against this tree, side by side in one process.

    .venv/bin/python -m benchmarks.ab_revisions REV [--rounds 9]

Separate processes on a shared VM differ by as much as a change is worth, so the
earlier tree (``git archive REV src/ticktape``) is imported under another package
name beside this one, and every round times both on the same corpus objects,
alternating which goes first, in CPU time. Prints the median of the per-round
speed ratios (this tree ÷ REV); decode alone is usually unchanged code, so its
ratio shows the noise floor. See benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import importlib
import io
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import corpus as corpora
from benchmarks import median
from benchmarks.laps import LapShifter

OLD = "ticktape_then"
Pass = Callable[..., Any]


def unpack(rev: str, into: Path) -> None:
    """``src/ticktape`` of ``rev`` as the package :data:`OLD` under ``into``."""
    tar = subprocess.run(
        ["git", "archive", rev, "src/ticktape"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(into, filter="data")
    package = into / OLD
    (into / "src" / "ticktape").rename(package)
    word = re.compile(r"\bticktape(?=[. ])|(?<=\")ticktape(?=\.)")
    for path in package.rglob("*.py"):
        text = path.read_text()
        path.write_text(word.sub(OLD, text))


def passes(package: str) -> tuple[Pass, Pass]:
    """(decode, decode + apply) over a list of frames, with ``package``'s code."""
    decoder = importlib.import_module(f"{package}.feed.decode").Decoder
    state_type = importlib.import_module(f"{package}.market").MarketState

    def decode(frames: list[bytes]) -> None:
        d = decoder().decode
        for frame in frames:
            d(frame)

    def apply(frames: list[bytes], state: Any = None) -> Any:
        state = state_type() if state is None else state
        d, a, recv_ms = decoder().decode, state.apply, time.time_ns() // 1_000_000
        for frame in frames:
            a(d(frame), recv_ms)
        return state

    return decode, apply


def cpu(fn: Pass, *args: object) -> float:
    t0 = time.process_time()
    fn(*args)
    return time.process_time() - t0


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("rev", help="the earlier revision (any git name)")
    p.add_argument("--rounds", type=int, default=9)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        unpack(args.rev, Path(tmp))
        sys.path.insert(0, tmp)
        impl = {name: passes(name) for name in ("ticktape", OLD)}
        big, small = corpora.load(events=400_000, symbols=2000), corpora.load(400_000, 50)
        shift = LapShifter(big.frames)
        lap = [shift.apply(f, shift.pairs(1)) for f in big.frames]
        ratios: dict[str, list[float]] = {"decode": [], "apply": [], "warm": [], "apply50": []}
        for r in range(args.rounds):
            took: dict[str, dict[str, float]] = {}
            for name in ("ticktape", OLD) if r % 2 else (OLD, "ticktape"):
                decode, apply = impl[name]
                warm_state = apply(big.frames)
                took[name] = {
                    "decode": cpu(decode, big.frames),
                    "apply": cpu(apply, big.frames),
                    "warm": cpu(apply, lap, warm_state),
                    "apply50": cpu(apply, small.frames),
                }
            for key, values in ratios.items():
                values.append(took[OLD][key] / took["ticktape"][key])
            print(r, {k: round(v[-1], 3) for k, v in ratios.items()}, flush=True)
    print(
        "median speed, this tree ÷", args.rev, {k: round(median(v), 3) for k, v in ratios.items()}
    )


if __name__ == "__main__":
    main()
