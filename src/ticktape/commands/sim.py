"""``ticktape sim``: run the simulator until SIGINT/SIGTERM, printing one URL a line.

See docs/simulator.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Sequence

from ticktape.commands.argtypes import (
    fraction,
    non_negative_float,
    port,
    positive_float,
    positive_float_up_to,
)
from ticktape.sim.process import KEY_ENV
from ticktape.sim.server import Simulator
from ticktape.sim.sessions import CLOCK_MODES, apply_clock

#: Beyond these the generator cannot keep up and the server stops answering.
MAX_RATE = 1_000_000.0
MAX_SPEED = 100_000.0


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _rest_errors(text: str) -> tuple[int, int]:
    status, _, count = text.partition(":")
    try:
        pair = int(status), int(count or "1")
    except ValueError:
        raise argparse.ArgumentTypeError("expected STATUS:COUNT, e.g. 429:3") from None
    if pair[0] not in (429, 500) or pair[1] < 1:
        raise argparse.ArgumentTypeError("STATUS must be 429 or 500 and COUNT ≥ 1")
    return pair


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ticktape sim",
        description="Serve a simulated Polygon/Massive market (WebSocket + REST) on one port.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=port, default=0, help="0 lets the OS choose (default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--symbols", type=_csv, default=[], help="e.g. AAPL,MSFT,EUR/USD,BTC-USD")
    p.add_argument(
        "--listed",
        type=int,
        default=0,
        metavar="N",
        help="a whole stock market of N names: --symbols, the defaults and made-up tickers",
    )
    p.add_argument(
        "--rate",
        type=positive_float_up_to(MAX_RATE),
        default=2000.0,
        help="events per second per cluster",
    )
    p.add_argument(
        "--speed", type=positive_float_up_to(MAX_SPEED), default=1.0, help="market clock speed-up"
    )
    p.add_argument(
        "--api-key",
        default=os.environ.get(KEY_ENV) or None,
        help=f"the only key accepted (default: ${KEY_ENV}, else any non-empty key)",
    )
    p.add_argument("--delayed", action="store_true", help="serve a 15-minute delayed feed")
    p.add_argument("--refuse", type=_csv, default=[], help="channels the plan lacks, e.g. Q,LULD")
    p.add_argument("--rest-markets", type=_csv, default=["stocks", "forex", "crypto"])
    p.add_argument("--auth-timeout", type=positive_float, default=10.0)
    p.add_argument(
        "--clock",
        choices=CLOCK_MODES,
        default="always",
        help="always: a living open market at any hour (default); real: quiet while the real"
        " market is closed, thin in extended hours",
    )
    faults = p.add_argument_group("faults")
    faults.add_argument(
        "--drop-after", type=positive_float, metavar="S", help="drop connections S s old"
    )
    faults.add_argument("--malformed", type=fraction, metavar="F", help="fraction of bad frames")
    faults.add_argument(
        "--stall", type=non_negative_float, metavar="S", help="stall sending for S seconds"
    )
    faults.add_argument(
        "--stall-every",
        type=positive_float,
        default=30.0,
        metavar="P",
        help="repeat --stall every P s",
    )
    faults.add_argument(
        "--rest-errors", type=_rest_errors, metavar="STATUS:N", help="next N REST answers fail"
    )
    p.add_argument("--watch-stdin", action="store_true", help=argparse.SUPPRESS)
    return p


async def _serve(args: argparse.Namespace) -> None:
    sim = Simulator(
        host=args.host,
        port=args.port,
        seed=args.seed,
        symbols=args.symbols,
        listed=max(0, args.listed),
        rate=args.rate,
        speed=args.speed,
        api_key=args.api_key,
        delayed=args.delayed,
        refused_channels=args.refuse,
        rest_markets=args.rest_markets,
        auth_timeout=args.auth_timeout,
    )
    apply_clock(sim, args.clock)
    if args.drop_after is not None:
        sim.faults.drop_after(args.drop_after)
    if args.malformed is not None:
        sim.faults.malformed_fraction(args.malformed)
    if args.rest_errors is not None:
        sim.faults.rest_errors(*args.rest_errors)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if args.watch_stdin:
        # Run by SimProcess: when the parent dies its end of our stdin closes, and we follow.
        fd = sys.stdin.fileno()
        loop.add_reader(fd, lambda: None if os.read(fd, 4096) else stop.set())
    async with sim:
        print("\n".join(sim.urls), flush=True)
        stalls = None
        if args.stall:
            stalls = asyncio.create_task(_stall_every(sim, args.stall, args.stall_every))
        await stop.wait()
        if stalls is not None:
            stalls.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stalls


async def _stall_every(sim: Simulator, seconds: float, period: float) -> None:
    while True:
        await asyncio.sleep(max(period, seconds))
        sim.faults.stall(seconds)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        asyncio.run(_serve(args))
    except OSError as err:  # e.g. the port is taken
        print(f"ticktape sim: {err}", file=sys.stderr)
        return 1
    return 0
