"""``python -m benchmarks [NAME ...] [--quick] ...``: NAME is any of NAMES below.

Runs the chosen benchmarks (all by default), prints a table of every figure
with its target, and merges the figures into ``benchmarks/results.json`` (a
flat object, so a script can check any figure by name). Running one
benchmark alone updates only its own keys. A benchmark that cannot run
records why under ``<name>_unavailable`` and sets its figures to null, so a
stale number is never mistaken for a fresh one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from benchmarks import Result, Unavailable

RESULTS: Final = Path(__file__).with_name("results.json")
NAMES: Final = (
    "decode",
    "e2e",
    "ui",
    "market_view",
    "startup",
    "memory",
    "hub",
    "hub_rest",
    "alerts",
    "terminal",
    "nats",
)

#: The figures each benchmark must produce (null when it cannot run).
REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "decode": (
        "decode_events_per_s",
        "decode_vs_official_ratio",
        "decode_apply_events_per_s",
        "official_events_per_s",
        "decode_apply_vs_official_ratio",
        "block_filter_events_per_s",
    ),
    "e2e": ("e2e_events_per_s", "e2e_vs_official_ratio"),
    "ui": ("switch_p95_ms", "frame_p95_ms"),
    "market_view": ("market_view_switch_p95_ms",),
    "startup": ("first_paint_s",),
    "memory": ("rss_mb_1m", "rss_mb_10m", "mem_growth_pct"),
    "hub": (
        "hub_fanout_events_per_s_1",
        "hub_fanout_events_per_s_4",
        "hub_fanout_events_per_s_16",
        "hub_subset_events_per_s_4",
        "hub_added_latency_p99_ms",
    ),
    "hub_rest": ("hub_rest_cached_ms",),
    "alerts": ("alerts_overhead_pct",),
    "nats": ("nats_origin_events_per_s", "nats_added_latency_p99_ms"),
    "terminal": (
        "terminal_kb_per_s",
        "terminal_kb_per_s_paused",
        "terminal_kb_per_s_low",
        "terminal_kb_per_s_80x24",
        "terminal_kb_per_s_paused_80x24",
        "terminal_kb_per_s_low_80x24",
    ),
}

#: (figure, comparison, target): the targets each figure is held to.
TARGETS: Final[tuple[tuple[str, str, float], ...]] = (
    ("decode_events_per_s", ">=", 2_000_000),
    ("decode_vs_official_ratio", ">=", 7.0),
    ("decode_apply_events_per_s", ">=", 1_000_000),
    ("block_filter_events_per_s", ">=", 2_000_000),
    ("decode_apply_vs_official_ratio", ">=", 3.0),
    ("e2e_events_per_s", ">=", 500_000),
    ("e2e_vs_official_ratio", ">=", 3.0),
    ("switch_p95_ms", "<=", 50.0),
    ("market_view_switch_p95_ms", "<=", 50.0),
    ("ui_fps_20k", ">=", 9.0),  # the configured 10 fps, give or take timer jitter
    ("first_paint_s", "<=", 1.0),
    ("mem_growth_pct", "<=", 10.0),
    ("hub_fanout_events_per_s_4", ">=", 1_000_000),
    ("hub_subset_events_per_s_4", ">=", 300_000),
    ("hub_added_latency_p99_ms", "<=", 5.0),
    ("hub_rest_cached_ms", "<=", 20.0),
    ("alerts_overhead_pct", "<=", 5.0),
    ("nats_origin_events_per_s", ">=", 300_000),
    ("nats_added_latency_p99_ms", "<=", 10.0),
    ("terminal_kb_per_s", "<=", 30.0),  # bytes to the terminal, 160x48, over SSH
    ("terminal_kb_per_s_paused", "<=", 10.0),
    ("terminal_kb_per_s_low", "<=", 10.0),
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    p.add_argument("names", nargs="*", metavar="NAME", help=f"any of {', '.join(NAMES)} (all)")
    p.add_argument("--quick", action="store_true", help="short runs, one round: a smoke check")
    p.add_argument("--seconds", type=float, help="e2e, terminal run length (default 30, quick 5)")
    p.add_argument("--rounds", type=int, help="runs per figure (default 3-5, quick 1)")
    p.add_argument("--json", type=Path, default=RESULTS, help="results file to update")
    return p


def _runners(args: argparse.Namespace) -> dict[str, Callable[[], Result]]:
    """Each benchmark with its sizes for a full or a quick run (imports stay lazy)."""
    from benchmarks import corpus

    quick = args.quick

    def rounds(full: int) -> int:
        return args.rounds or (1 if quick else full)

    def decode() -> Result:
        from benchmarks import bench_decode

        counts = () if quick else bench_decode.SWEEP
        return bench_decode.run(corpus.load(), rounds=rounds(5), symbol_counts=counts)

    def e2e() -> Result:
        from benchmarks import bench_e2e

        seconds = args.seconds or (5.0 if quick else 30.0)
        probes = 1 if quick else bench_e2e.PROBES
        return bench_e2e.run(corpus.load(), seconds=seconds, rounds=rounds(3), probes=probes)

    def ui() -> Result:
        from benchmarks import bench_ui

        return bench_ui.run(
            corpus.load(),
            window=3.0 if quick else 10.0,
            switches=10 if quick else 50,
            rounds=rounds(3),
        )

    def market_view() -> Result:
        from benchmarks import bench_market_view

        return bench_market_view.run(corpus.load(), switches=10 if quick else 50, rounds=rounds(3))

    def startup() -> Result:
        from benchmarks import bench_startup

        return bench_startup.run(launches=args.rounds or (2 if quick else 7))

    def memory() -> Result:
        from benchmarks import bench_memory

        return bench_memory.run(corpus.load(), rounds=rounds(3))

    def hub() -> Result:
        from benchmarks import bench_hub

        return bench_hub.run(
            corpus.load(),
            seconds=args.seconds or (3.0 if quick else 30.0),
            probe=1.0 if quick else 4.0,
            probes=1 if quick else 4,
        )

    def hub_rest() -> Result:
        from benchmarks import bench_hub_rest

        return bench_hub_rest.run(rounds=rounds(20))

    def alerts() -> Result:
        from benchmarks import bench_alerts

        events = 100_000 if quick else 400_000
        stream = corpus.load(events=events, symbols=bench_alerts.SYMBOLS)
        return bench_alerts.run(stream, rounds=rounds(7))

    def terminal() -> Result:
        from benchmarks import bench_terminal

        seconds = args.seconds or (5.0 if quick else 30.0)
        return bench_terminal.run(seconds=seconds, settle=3.0 if quick else 8.0, rounds=rounds(1))

    def nats() -> Result:
        from benchmarks import bench_nats

        return bench_nats.run(
            corpus.load(),
            seconds=args.seconds or (5.0 if quick else 30.0),
            latency_seconds=3.0 if quick else 10.0,
        )

    return {
        "alerts": alerts,
        "decode": decode,
        "e2e": e2e,
        "ui": ui,
        "market_view": market_view,
        "startup": startup,
        "memory": memory,
        "hub": hub,
        "hub_rest": hub_rest,
        "terminal": terminal,
        "nats": nats,
    }


def machine() -> Result:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "load_avg_1m": load,
        "platform": platform.platform(),
    }


def _fmt(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if abs(value) >= 10_000:
            return f"{value:,.0f}"
        return f"{value:,.2f}"
    return str(value)


def table(results: Result) -> str:
    """Every figure of this run, targets first, with met / MISSED."""
    lines = [f"{'figure':<34} {'value':>14}  {'target':<12} status"]
    shown = set()
    for key, op, goal in TARGETS:
        if key not in results:
            continue
        value = results[key]
        shown.add(key)
        if isinstance(value, int | float):
            met = value >= goal if op == ">=" else value <= goal
            status = "met" if met else "MISSED"
        else:
            status = "unavailable"
        lines.append(f"{key:<34} {_fmt(value):>14}  {op} {_fmt(float(goal)):<9} {status}")
    for key, value in results.items():
        if key not in shown and not (key.endswith("_unavailable") and value is None):
            lines.append(f"{key:<34} {_fmt(value):>14}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in NAMES]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    names = args.names or list(NAMES)
    runners = _runners(args)
    results: Result = machine()
    failed = False
    t_all = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        print(f"[{name}] running…", file=sys.stderr, flush=True)
        try:
            results.update(runners[name]())
            results[f"{name}_unavailable"] = None
        except Unavailable as why:
            results.update(dict.fromkeys(REQUIRED[name]))
            results[f"{name}_unavailable"] = str(why)
            failed = True
        except Exception as err:  # one broken benchmark must not hide the others
            traceback.print_exc()
            results.update(dict.fromkeys(REQUIRED[name]))
            results[f"{name}_unavailable"] = f"crashed: {type(err).__name__}: {err}"
            failed = True
        results[f"{name}_wall_s"] = time.perf_counter() - t0
        print(f"[{name}] {results[f'{name}_wall_s']:.0f} s", file=sys.stderr, flush=True)
    results["bench_wall_s"] = time.perf_counter() - t_all
    merged: Result = {}
    if args.json.exists():
        try:
            merged = json.loads(args.json.read_text())
        except ValueError:
            merged = {}
    merged.update(results)
    args.json.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    print(table(results))
    print(f"\nwritten: {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
