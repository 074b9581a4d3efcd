"""Experiment: how fast could decode + apply go with per-symbol state in columns?

    .venv/bin/python -m benchmarks.columns_probe [--symbols 2000] [--events N] [--runs 5] [--no-c]

Not the product and not part of ``make bench``: a measurement to decide the
next step for decode + apply. The market state keeps each symbol's hot figures as
attributes of Python objects; with 2,000 symbols most of an event's cost is
fetching those objects' (and their float values') cache lines back from
memory. This probe keeps the same hot figures unboxed in one ``array`` per
field (struct of arrays, ~200 bytes a symbol, so 2,000 symbols fit in the
CPU's L2), with trade and second-bar rings in one arena each, and applies the
benchmark corpus with a simplified version of the state's fast paths
(quotes: NBBO; trades: side, tick, ring, forming bar, day high/low; second
bars: ring, day high/low, last). Late prints, odd lots, new days and minute
bars are left out, so the figures are upper bounds for a full state.

It runs the same loop twice over identical columns: in Python, and compiled
from ``columns_probe.c`` (built into a temp dir with the machine's C compiler,
as an extension would be), checks that both leave identical columns, and
prints events/s of each with decode included, beside the real
``MarketState`` on the same corpus.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from array import array
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from benchmarks.bench_decode import decode_apply_pass
from benchmarks.corpus import EVENTS, SYMBOLS, load
from ticktape.feed.conditions import ALL_CODE, ALL_FLAGS, ConditionCache
from ticktape.feed.decode import Decoder
from ticktape.feed.events import Quote, SecondAgg, Trade
from ticktape.market.bars import SECOND_REC
from ticktape.market.tape import TRADE_REC

TCAP: Final = 256  # per-symbol trade ring (the state's shallow size)
ACAP: Final = 120  # per-symbol second-bar ring
GCAP: Final = 10_000  # all-symbol tape
#: Column order shared with columns_probe.c (doubles, then 64-bit ints).
DCOLS: Final = ("bid", "ask", "bid_sz", "ask_sz", "last", "last_sz", "day_high", "day_low",
                "bar_high", "bar_low", "bar_close", "bar_vol", "bar_pv")  # fmt: skip
QCOLS: Final = ("quote_ms", "last_ms", "bar_start", "bar_n", "version", "updated", "tseq", "aseq")
_DINIT: Final = (math.nan, math.nan, 0, 0, math.nan, 0, -math.inf, math.inf, 0, 0, 0, 0, 0)
_QINIT: Final = (0, 0, -1, 0, 0, 0, 0, 0)


class Columns:
    """One array per field, indexed by symbol number; rings in two arenas."""

    def __init__(self, names: list[str], conditions: ConditionCache) -> None:
        n = len(names)
        self.index = {name: i for i, name in enumerate(names)}
        self.conditions = conditions
        self.d = [array("d", [v]) * n for v in _DINIT]
        self.q = [array("q", [v]) * n for v in _QINIT]
        self.tick = array("b", [0]) * n
        self.trades = bytearray(n * TCAP * TRADE_REC.size)
        self.seconds = bytearray(n * ACAP * SECOND_REC.size)
        self.tape = array("i", [0]) * GCAP
        self.tape_n = 0

    def same(self, other: Columns) -> bool:
        return (
            all(a.tobytes() == b.tobytes() for a, b in zip(self.d, other.d, strict=True))
            and self.q == other.q
            and self.tick == other.tick
            and self.trades == other.trades
            and self.seconds == other.seconds
            and self.tape == other.tape
        )


def apply_py(cols: Columns, events: list[Any], v: int, recv: int) -> None:
    """The Python loop (what the C one does, line for line)."""
    get = cols.index.get
    bid, ask, bsz, asz, last, lsz, dh, dl, fh, fl, fc, fv, fpv = cols.d
    qms, lms, fs, ftx, ver, upd, tseq, aseq = cols.q
    tick, tarena, aarena, gidx = cols.tick, cols.trades, cols.seconds, cols.tape
    cget, intern = cols.conditions.lookup.get, cols.conditions.intern
    tpack, apack = TRADE_REC.pack_into, SECOND_REC.pack_into
    trec, arec = TRADE_REC.size, SECOND_REC.size
    every, plain, gn = ALL_FLAGS, ALL_CODE, cols.tape_n
    for ev in events:
        tp = type(ev)
        if tp is Quote:
            i = get(ev.symbol)
            if i is None:
                continue
            bid[i] = ev.bid
            ask[i] = ev.ask
            bsz[i] = ev.bid_size
            asz[i] = ev.ask_size
            qms[i] = ev.timestamp
            ver[i] = v
            upd[i] = recv
        elif tp is Trade:
            i = get(ev.symbol)
            if i is None:
                continue
            p, size, t = ev.price, ev.size, ev.timestamp
            c = ev.conditions
            if c:
                cc = cget(c)
                if cc is None:
                    cc = intern(c)
            else:
                cc = plain
            if p >= ask[i] > 0.0:
                code = 1
            elif 0.0 < bid[i] >= p:
                code = 2
            else:
                code = 0
            lp = last[i]
            if p > lp:
                code |= 4
                tk = 1
            elif p < lp:
                code |= 8
                tk = -1
            else:
                tk = 0
            n = tseq[i]
            tpack(tarena, (i * TCAP + n % TCAP) * trec, t, p, size, code, ev.exchange, cc)
            tseq[i] = n + 1
            gidx[gn % GCAP] = i
            gn += 1
            m = t - t % 60_000
            last[i] = p
            lsz[i] = size
            lms[i] = t
            tick[i] = tk
            if fs[i] == m and cc & every == every:
                if p > fh[i]:
                    fh[i] = p
                    if p > dh[i]:
                        dh[i] = p
                elif p < fl[i]:
                    fl[i] = p
                    if p < dl[i]:
                        dl[i] = p
                fc[i] = p
                fv[i] += size
                fpv[i] += p * size
                ftx[i] += 1
            else:  # a new minute (or conditions the probe does not model): start a bar
                fs[i] = m
                fh[i] = fl[i] = fc[i] = p
                fv[i] = size
                fpv[i] = p * size
                ftx[i] = 1
                if p > dh[i]:
                    dh[i] = p
                if p < dl[i]:
                    dl[i] = p
            ver[i] = v
            upd[i] = recv
        elif tp is SecondAgg:
            i = get(ev.symbol)
            if i is None:
                continue
            n = aseq[i]
            vw = ev.vwap
            if vw is None:
                vw = math.nan
            start, high, low, close = ev.start, ev.high, ev.low, ev.close
            o = (i * ACAP + n % ACAP) * arec
            apack(aarena, o, start, ev.open, high, low, close, ev.volume, vw, 1)
            aseq[i] = n + 1
            if high > dh[i]:
                dh[i] = high
            if low < dl[i]:
                dl[i] = low
            end = ev.end or start + 1000
            if end > lms[i]:
                last[i] = close
                lms[i] = end
            ver[i] = v
            upd[i] = recv
    cols.tape_n = gn


def build_c() -> ModuleType:
    """Compile columns_probe.c (as ``pip install`` would build an extension) and import it."""
    src = Path(__file__).with_name("columns_probe.c")
    out = Path(tempfile.mkdtemp()) / f"columns_probe_c{sysconfig.get_config_var('EXT_SUFFIX')}"
    include = sysconfig.get_paths()["include"]
    cmd = ["cc", "-O2", "-shared", "-fPIC", f"-I{include}", str(src), "-o", str(out)]
    subprocess.run(cmd, check=True)
    spec = importlib.util.spec_from_file_location("columns_probe_c", out)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--symbols", type=int, default=SYMBOLS)
    ap.add_argument("--events", type=int, default=EVENTS)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-c", action="store_true", help="skip the compiled loop")
    args = ap.parse_args(argv)
    corpus = load(events=args.events, symbols=args.symbols)
    frames, n = corpus.frames, corpus.events
    decode = Decoder().decode
    names = list(dict.fromkeys(e.symbol for f in frames for e in decode(f) if hasattr(e, "symbol")))
    c_loop = None if args.no_c else build_c()

    def fresh() -> Columns:
        return Columns(names, ConditionCache())

    def timed(run: Any) -> float:
        cols = fresh()
        t0 = time.perf_counter()
        for v, frame in enumerate(frames, 1):
            run(cols, decode(frame), v, 1)
        return time.perf_counter() - t0

    def run_c(cols: Columns, events: list[Any], v: int, recv: int) -> None:
        assert c_loop is not None
        c_loop.apply(cols, events, v, recv, Quote, Trade, SecondAgg)

    paths: dict[str, Any] = {"python columns": apply_py}
    if c_loop is not None:
        a, b = fresh(), fresh()
        for v, frame in enumerate(frames, 1):
            events = decode(frame)
            apply_py(a, events, v, 1)
            run_c(b, events, v, 1)
        if not a.same(b):
            print("the Python and C loops disagree: no figures", file=sys.stderr)
            return 1
        print("the Python and C loops leave identical columns")
        paths["C columns"] = run_c
    state_s = [0.0] * args.runs
    figures: dict[str, list[float]] = {name: [] for name in paths}
    for r in range(args.runs):
        t0 = time.perf_counter()
        decode_apply_pass(frames)
        state_s[r] = time.perf_counter() - t0
        for name, run in paths.items():
            figures[name].append(timed(run))
    base = statistics.median(state_s)
    print(f"{n:,} events over {len(names):,} symbols, median of {args.runs} runs, decode included")
    print(f"  MarketState (the product)   {n / base / 1e6:5.2f} M events/s")
    for name, ts in figures.items():
        t = statistics.median(ts)
        print(f"  {name:<27} {n / t / 1e6:5.2f} M events/s  ({base / t:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
