"""``ticktape replay FILE``: serve a recording, or a bars CSV, as a live feed.

Played through the simulator's own server; ``--app`` opens the app on it. See docs/simulator.md.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ticktape.commands.argtypes import non_negative_float, port, positive_float
from ticktape.feed.record import ReadReport, is_recording
from ticktape.sim.protocol import CLUSTERS
from ticktape.sim.replay_source import (
    MAX_GAP_MS,
    CsvReport,
    Entry,
    ReplaySource,
    check_recording,
    csv_timeline,
    describe_read,
    recording_cluster,
    recording_timeline,
)
from ticktape.sim.server import Simulator
from ticktape.sim.symbols import split_ticker

#: Any non-empty key is accepted by the replay server; the app sends this one. The app
#: masks its key wherever a server's status repeats it, so it must be no word a replay
#: says ("replay" turned "6 events replayed" into "6 events ****ed").
REPLAY_KEY = "ticktape-replay-app-key"
CSV_SPEED = 60.0  # a minute bar a second
#: A bars CSV is one row a minute: a gap cap shorter than that would replay every bar
#: faster than --speed says. Longer gaps (overnight, a halt) are still cut to this.
CSV_MAX_GAP_S = 300.0
#: Seconds after the first client connects before the replay starts anyway
#: (a client that subscribes only to wildcards such as T.* never names a symbol).
WILDCARD_START = 2.0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ticktape replay",
        description="Serve a recording (ticktape --record) or a bars CSV (ticktape bars) "
        "as a live WebSocket feed, with REST history of what was replayed.",
        epilog="The replay starts when the first client subscribes, and keeps serving "
        "after the end until Ctrl-C. Prints one line per URL (as `ticktape sim` does).",
    )
    p.add_argument("file", type=Path, help="recording (.jsonl.gz) or bars CSV")
    p.add_argument(
        "--speed", type=positive_float, help=f"time scale (1 for recordings, {CSV_SPEED:g} for CSV)"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=port, default=0, help="0 lets the OS choose (default)")
    p.add_argument("--symbol", help="ticker of a bars CSV (default: from the file name)")
    p.add_argument(
        "--max-gap",
        type=non_negative_float,
        metavar="S",
        help=f"shorten quiet stretches to S seconds of recorded time (default {MAX_GAP_MS / 1000:g}"
        f" for recordings, {CSV_MAX_GAP_S:g} for CSV: longer than a bar, so --speed holds)",
    )
    p.add_argument("--app", action="store_true", help="open the app on the replay")
    return p


def _symbol_from_name(path: Path) -> str:
    """``AAPL.csv`` / ``aapl_1min.csv`` → ``AAPL``; ``X:BTCUSD.csv`` → ``X:BTCUSD``."""
    return re.split(r"[_\s.]", path.stem, maxsplit=1)[0].upper()


def _not_replayable(path: Path, why: str) -> str:
    return f"{path} is not a ticktape recording or bars CSV: {why}"


@dataclass(frozen=True)
class Plan:
    """What to replay, from FILE and the flags."""

    timeline: Iterable[Entry]
    cluster: str
    speed: float
    what: str  #: e.g. "recording s.jsonl.gz (stocks)", "AAPL bars"
    skipped: Callable[[], str]  #: what reading FILE skipped so far, '' if nothing


def _timeline(args: argparse.Namespace) -> Plan:
    """The replay of FILE; raises ValueError/OSError when it is unusable."""
    path: Path = args.file
    if is_recording(path):
        try:
            check_recording(path)
        except ValueError as err:
            raise ValueError(_not_replayable(path, str(err))) from None
        cluster = recording_cluster(path)
        speed = args.speed or 1.0
        report = ReadReport()  # filled as the replay reads: complete at its end
        return Plan(
            recording_timeline(path, report),
            cluster,
            speed,
            f"recording {path.name} ({cluster})",
            lambda: describe_read(report),
        )
    symbol = (args.symbol or _symbol_from_name(path)).upper()
    if not symbol:
        raise ValueError("name the ticker with --symbol")
    with open(path, encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
    if header[:1] != ["datetime"] or not {"open", "high", "low", "close"} <= set(header):
        raise ValueError(_not_replayable(path, "no `datetime,open,high,low,close` header"))
    scan = CsvReport()  # read whole now: a CSV is small, and bad rows are best told up front
    for _ in csv_timeline(path, symbol, scan):
        pass
    if scan.rows == scan.skipped:
        raise ValueError(_not_replayable(path, scan.describe() or "no rows after the header"))
    speed = args.speed or CSV_SPEED
    cluster = split_ticker(symbol)[0]
    return Plan(csv_timeline(path, symbol), cluster, speed, f"{symbol} bars", scan.describe)


def _simulator(args: argparse.Namespace, source: ReplaySource, cluster: str) -> Simulator:
    """The simulator with every cluster but ``cluster`` silent (an empty replay)."""
    sources = {c: source if c == cluster else ReplaySource((), cluster=c) for c in CLUSTERS}
    return Simulator(host=args.host, port=args.port, sources=sources)


async def _start_for_wildcards(sim: Simulator, source: ReplaySource) -> None:
    # Polled: the simulator has no "client connected" event, and 0.1 s is plenty here.
    while sim.connections == 0:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    await asyncio.sleep(WILDCARD_START)
    source.start()


async def _serve(
    args: argparse.Namespace,
    source: ReplaySource,
    cluster: str,
    what: str,
    *,
    ready: threading.Event | None = None,
    urls: list[str] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    if ready is None:  # in the main thread: Ctrl-C / SIGTERM end the replay
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    async with _simulator(args, source, cluster) as sim:
        starter = asyncio.create_task(_start_for_wildcards(sim, source))
        if ready is not None and urls is not None:
            urls.extend(sim.urls)
            ready.set()
        else:
            print("\n".join(sim.urls), flush=True)
            print(f"ticktape replay: serving {what} at speed {source.speed:g}", file=sys.stderr)
        await stop.wait()
        starter.cancel()


def _run_app(args: argparse.Namespace, source: ReplaySource, cluster: str, what: str) -> int:
    """Serve on a background thread's loop; run the app on this thread against it."""
    from ticktape.commands.run import MARKET_DEFAULTS
    from ticktape.config import load_settings
    from ticktape.ui.app import TicktapeApp
    from ticktape.ui.statusbar import REPLAY_LABEL

    urls: list[str] = []
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(
        target=loop.run_until_complete,
        args=(_serve(args, source, cluster, what, ready=ready, urls=urls, stop=stop),),
        name="ticktape-replay",
        daemon=True,
    )
    thread.start()
    if not ready.wait(20) or not urls:
        print("ticktape replay: the replay server did not start", file=sys.stderr)
        return 1
    ws_url, rest_url = urls[0].rsplit("/", 1)[0], urls[-1]
    symbols = _peek_symbols(args, cluster) or MARKET_DEFAULTS[cluster]
    try:
        try:
            settings = load_settings({"market": cluster, "ws_url": ws_url, "rest_url": rest_url})
        except ValueError as err:  # the environment or config file (say, an unknown zone)
            print(f"ticktape replay: {err}", file=sys.stderr)
            return 2
        TicktapeApp(
            settings.with_(api_key=REPLAY_KEY, watchlist=symbols), feed_label=REPLAY_LABEL
        ).run()
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
    return 0


def _peek_symbols(args: argparse.Namespace, cluster: str, limit: int = 20) -> tuple[str, ...]:
    """The first symbols that appear in FILE, for the app's watchlist."""
    seen: dict[str, None] = {}
    for _, events in _timeline(args).timeline:
        for event in events:
            if event.key:
                seen.setdefault(event.key)
        if len(seen) >= limit:
            break
    return tuple(seen)[:limit]


def max_gap_ms(args: argparse.Namespace) -> int:
    """The quiet-stretch cap: as given, else by the kind of file (see CSV_MAX_GAP_S)."""
    if args.max_gap is not None:
        return int(args.max_gap * 1000)
    return MAX_GAP_MS if is_recording(args.file) else int(CSV_MAX_GAP_S * 1000)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        plan = _timeline(args)
    except (OSError, ValueError, UnicodeDecodeError) as err:
        print(f"ticktape replay: {err}", file=sys.stderr)
        return 2
    if early := plan.skipped():  # a CSV's bad rows, known before serving
        print(f"ticktape replay: {args.file}: {early}", file=sys.stderr)

    def on_end() -> str:
        """The end, counted: the message of the replay_finished status (and said here)."""
        text = f"end of {plan.what}: {source.emitted:,} events replayed"
        if skipped := plan.skipped():
            text += f"; {skipped}"
        if not args.app:  # with --app the screen is the app's: its status bar says it
            print(f"ticktape replay: {text}; still serving, Ctrl-C to stop", file=sys.stderr)
        return text

    source = ReplaySource(
        plan.timeline,
        cluster=plan.cluster,
        speed=plan.speed,
        max_gap_ms=max_gap_ms(args),
        on_end=on_end,
    )
    if args.app:
        return _run_app(args, source, plan.cluster, plan.what)
    try:
        asyncio.run(_serve(args, source, plan.cluster, plan.what))
    except OSError as err:  # e.g. the port is taken
        print(f"ticktape replay: {err}", file=sys.stderr)
        return 1
    return 0
