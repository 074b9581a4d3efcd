"""Bytes to the terminal: ``ticktape --sim`` in a pseudo-terminal, its output counted.

What an SSH channel would carry: the real command, as a user runs it, on the
simulator's default flow, in a pseudo-terminal of a fixed size with
``TERM=xterm-256color`` and ``COLORTERM=truecolor`` (a modern local terminal;
the low profile picks 256 colours itself). Every byte the app writes is read
from the terminal's master side; once the first price is painted and the
history has loaded (``settle`` seconds), the bytes of the next ``seconds`` are
counted and reported in KB/s (1 KB = 1,000 bytes).

Figures: ``terminal_kb_per_s`` (defaults), ``terminal_kb_per_s_paused`` (the
tape paused with ``space`` before the window), ``terminal_kb_per_s_low``
(``--bandwidth low``), at 160×48 and with an ``_80x24`` suffix at 80×24.

``python -m benchmarks.bench_terminal --breakdown`` attributes the bytes to
the panes (and with ``--rows`` to screen rows) by following the cursor
through the escape sequences, for finding where bytes go; ``--src DIR`` runs
another checkout's ``src`` (e.g. main) for a before/after in one sitting.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import os
import pty
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from benchmarks import Result, Unavailable, median, require
from benchmarks.bench_startup import (
    _MOVE,
    _PRICED,
    _TOKENS,
    WATCHLIST,
    ScreenText,
    _quit,
    ticktape_command,
)

SIZES: Final = {"": (160, 48), "_80x24": (80, 24)}
#: figure suffix → (extra command-line arguments, pause the tape before counting)
PROFILES: Final[dict[str, tuple[tuple[str, ...], bool]]] = {
    "": ((), False),
    "_paused": ((), True),
    "_low": (("--bandwidth", "low"), False),
}
_SPACE: Final = b" "
KB: Final = 1000.0


@dataclass
class Capture:
    """What the app wrote during the counting window."""

    seconds: float
    data: bytes
    cols: int
    rows: int
    chunks: list[tuple[float, int]] = field(default_factory=list)
    cpu_cores: float | None = None  # the app's process (not the simulator's), over the window

    @property
    def kb_per_s(self) -> float:
        return len(self.data) / KB / self.seconds


def capture(
    cols: int,
    rows: int,
    *,
    args: Sequence[str] = (),
    seconds: float = 30.0,
    settle: float = 8.0,
    pause: bool = False,
    src: Path | None = None,
    timeout: float = 60.0,
) -> Capture:
    """Run the app in a ``cols``×``rows`` terminal; the bytes of ``seconds`` after it settled."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    config = tempfile.mkdtemp(prefix="ticktape-bench-")
    env = {
        k: v
        for k, v in os.environ.items()
        if "API_KEY" not in k and not k.startswith(("SSH_", "TEXTUAL_", "TICKTAPE_"))
    }
    env.update(TERM="xterm-256color", COLORTERM="truecolor", XDG_CONFIG_HOME=config)
    env.pop("NO_COLOR", None)
    command = ticktape_command()
    if src is not None:  # another checkout: its package first on the path
        env["PYTHONPATH"] = str(src)
        command = [sys.executable, "-m", "ticktape"]
    proc = subprocess.Popen(
        [*command, "--sim", "--symbols", ",".join(WATCHLIST), *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    try:
        seen = _until_price(proc, master, timeout, cols, rows)
        if not _PRICED.search(seen):
            tail = b" ".join(seen.split())[-300:]
            raise Unavailable(
                f"no price painted within {timeout:g} s (exit code {proc.poll()}): "
                + tail.decode(errors="replace")
            )
        for _ in _drain(master, settle):
            pass
        if pause:
            os.write(master, _SPACE)
            for _ in _drain(master, 1.0):  # the pause itself repaints the tape's title
                pass
        cpu0 = _cpu_seconds(proc.pid)
        t0 = time.perf_counter()
        chunks: list[bytes] = []
        stamps: list[tuple[float, int]] = []
        for chunk in _drain(master, seconds):
            chunks.append(chunk)
            stamps.append((time.perf_counter() - t0, len(chunk)))
        elapsed = time.perf_counter() - t0
        cpu1 = _cpu_seconds(proc.pid)
        if proc.poll() is not None:
            raise Unavailable(f"the app exited during the window (code {proc.returncode})")
    finally:
        _quit(proc, master)
        shutil.rmtree(config, ignore_errors=True)
    cores = None if cpu0 is None or cpu1 is None else (cpu1 - cpu0) / elapsed
    return Capture(elapsed, b"".join(chunks), cols, rows, stamps, cores)


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (Linux; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _until_price(
    proc: subprocess.Popen[bytes], master: int, timeout: float, cols: int = 160, rows: int = 48
) -> bytes:
    """The screen once it shows the first price (or as it is when none came)."""
    t0 = time.perf_counter()
    screen = ScreenText(cols, rows)
    while time.perf_counter() - t0 < timeout:
        ready, _, _ = select.select([master], [], [], 0.05)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            screen.feed(os.read(master, 1 << 16))
        except OSError:
            break
        if _PRICED.search(screen.text):
            break
    return screen.text


def _drain(master: int, seconds: float) -> list[bytes]:
    """Everything the app writes for ``seconds`` (read as it comes, so it never blocks)."""
    out: list[bytes] = []
    deadline = time.perf_counter() + seconds
    while (left := deadline - time.perf_counter()) > 0:
        ready, _, _ = select.select([master], [], [], min(left, 0.05))
        if ready:
            try:
                out.append(os.read(master, 1 << 16))
            except OSError:
                break
    return out


# -- where the bytes go ---------------------------------------------------------------------------


def bytes_by_cell(data: bytes) -> Counter[tuple[int, int]]:
    """Bytes per screen cell (row, column), 0-based, following cursor moves.

    An escape sequence counts against the cell the next character is drawn in,
    so a style change is charged to the text it styles.
    """
    counts: Counter[tuple[int, int]] = Counter()
    row = col = 0
    for m in _TOKENS.finditer(data):
        csi, osc, other, text = m.groups()
        if csi is not None:
            move = _MOVE.fullmatch(csi)
            if move is not None:
                row = int(move.group(1) or 1) - 1  # a move is charged to where it goes
                col = int(move.group(2) or 1) - 1
            elif csi.endswith(b"C"):
                col += int(csi[2:-1] or 1)
            counts[row, col] += len(csi)
        elif text is not None:
            for line_no, line in enumerate(text.split(b"\n")):
                if line_no:
                    row, col = row + 1, 0
                    counts[row, col] += 1
                for char in line.decode(errors="replace"):
                    counts[row, col] += len(char.encode())
                    col += 1
        else:
            counts[row, col] += len(osc or other or b"")
    return counts


def pane_regions(cols: int, rows: int) -> dict[str, tuple[int, int, int, int]]:
    """Each pane's screen region (x, y, width, height) at this size, from the app's own layout."""
    from ticktape.config import Settings
    from ticktape.ui.app import TicktapeApp

    async def layout() -> dict[str, tuple[int, int, int, int]]:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(watchlist=WATCHLIST, config_path=Path(tmp) / "config.toml")
            app = TicktapeApp(settings, connect=False)
            async with app.run_test(size=(cols, rows)) as pilot:
                await pilot.pause()
                main = app.main
                panes = {
                    "watchlist": main.watchlist,
                    "chart": main.chart,
                    "tape": main.tape,
                    "status": main.status,
                }
                return {name: tuple(w.region) for name, w in panes.items()}  # type: ignore[misc]

    return asyncio.run(layout())


def breakdown(cap: Capture, regions: dict[str, tuple[int, int, int, int]]) -> dict[str, float]:
    """KB/s per pane ("other": borders, footer, toasts)."""
    per: Counter[str] = Counter()
    for (row, col), n in bytes_by_cell(cap.data).items():
        for name, (x, y, w, h) in regions.items():
            if x <= col < x + w and y <= row < y + h:
                per[name] += n
                break
        else:
            per["other"] += n
    return {name: n / KB / cap.seconds for name, n in per.most_common()}


# -- the benchmark ------------------------------------------------------------------------------


def run(*, seconds: float = 30.0, settle: float = 8.0, rounds: int = 1) -> Result:
    """Every profile at both sizes; the median of ``rounds`` runs each, interleaved."""
    require("ticktape.sim.process", "ticktape.commands.run")
    samples: dict[str, list[float]] = {}
    failures: dict[str, str] = {}
    for _ in range(rounds):
        for size_suffix, (cols, rows) in SIZES.items():
            for profile, (args, pause) in PROFILES.items():
                name = f"terminal_kb_per_s{profile}{size_suffix}"
                try:
                    cap = capture(
                        cols, rows, args=args, seconds=seconds, settle=settle, pause=pause
                    )
                except Unavailable as why:
                    failures[name] = str(why)
                    continue
                samples.setdefault(name, []).append(cap.kb_per_s)
    result: Result = {}
    for size_suffix in SIZES:
        for profile in PROFILES:
            name = f"terminal_kb_per_s{profile}{size_suffix}"
            values = samples.get(name)
            result[name] = median(values) if values else None
            if not values:
                result[f"{name}_unavailable"] = failures.get(name, "no run")
    if all(result[f"terminal_kb_per_s{p}"] is None for p in PROFILES):
        raise Unavailable("; ".join(sorted(set(failures.values()))) or "no run")
    result["terminal_seconds"] = seconds
    return result


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_terminal", description=__doc__)
    p.add_argument("--size", default="160x48", help="COLSxROWS (default 160x48)")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--settle", type=float, default=8.0)
    p.add_argument("--pause", action="store_true", help="pause the tape before counting")
    p.add_argument("--src", type=Path, action="append", help="a checkout's src/ (repeatable)")
    p.add_argument("--rows", action="store_true", help="also print KB/s per screen row")
    p.add_argument("--breakdown", action="store_true", help="KB/s per pane")
    p.add_argument("--dump", type=Path, help="write the captured bytes here")
    p.add_argument("app_args", nargs="*", help="after --: arguments for ticktape")
    args = p.parse_args(argv)
    cols, rows = (int(n) for n in args.size.lower().split("x"))
    regions = pane_regions(cols, rows) if args.breakdown else {}
    for src in args.src or [None]:
        cap = capture(
            cols,
            rows,
            args=args.app_args,
            seconds=args.seconds,
            settle=args.settle,
            pause=args.pause,
            src=src,
        )
        label = str(src or "this checkout")
        cpu = "" if cap.cpu_cores is None else f", app CPU {cap.cpu_cores:.2f} cores"
        print(f"{label}: {cap.kb_per_s:.1f} KB/s{cpu} at {cols}x{rows} {' '.join(args.app_args)}")
        if args.breakdown:
            for name, kbs in breakdown(cap, regions).items():
                print(f"  {name:<10} {kbs:8.2f} KB/s")
        if args.rows:
            per_row: Counter[int] = Counter()
            for (row, _), n in bytes_by_cell(cap.data).items():
                per_row[row] += n
            for row in sorted(per_row):
                print(f"  row {row:3d} {per_row[row] / KB / cap.seconds:8.2f} KB/s")
        if args.dump:
            args.dump.write_bytes(cap.data)
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
