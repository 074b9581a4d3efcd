"""Start-up: ``ticktape --sim`` in a pseudo-terminal → the first watchlist row with a price.

The real command, as a user runs it: a fresh interpreter, the imports, the
simulator's child process, the websocket handshake, the first frames and the
first paint that shows a price. The clock starts just before the process is
spawned and stops when the screen (rebuilt from the terminal output by
following the cursor: the app sends only the cells that change) shows a
watchlist symbol followed by a price. Each launch then quits with ctrl+q,
as a user would, so the simulator child is shut down by the app itself.

The configuration directory is a fresh temporary one (no saved watchlist, no
key from the user's files) and API-key variables are removed from the
environment, so every launch starts the same way.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path
from typing import Final

from benchmarks import Result, Unavailable, median, require

WATCHLIST: Final = ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "SPY")
ROWS, COLS = 40, 140
_PRICED: Final = re.compile(
    rb"\b(?:" + b"|".join(s.encode() for s in WATCHLIST) + rb")\s+\d[\d,]*\.\d{2}"
)
_QUIT: Final = b"\x11"  # ctrl+q
#: Escape sequences (CSI, OSC) or a run of plain bytes: a terminal stream's tokens.
_TOKENS: Final = re.compile(
    rb"(\x1b\[[0-9;?<>=$]*[ -/]*[@-~])|(\x1b\][^\x07\x1b]*(?:\x07|\x1b\\))|(\x1b.)|([^\x1b]+)",
    re.S,
)
_MOVE: Final = re.compile(rb"\x1b\[(\d*);?(\d*)H")


class ScreenText:
    """The characters on screen, following cursor moves (the app sends only changed cells)."""

    def __init__(self, cols: int, rows: int) -> None:
        self.lines = [bytearray(b" " * cols) for _ in range(rows)]
        self.row = self.col = 0

    def feed(self, data: bytes) -> None:
        for m in _TOKENS.finditer(data):
            csi, _, _, text = m.groups()
            if csi is not None:
                move = _MOVE.fullmatch(csi)
                if move is not None:
                    self.row = int(move.group(1) or 1) - 1
                    self.col = int(move.group(2) or 1) - 1
                elif csi.endswith(b"C"):
                    self.col += int(csi[2:-1] or 1)
            elif text is not None:
                for char in text.decode(errors="replace"):
                    if char == "\n":
                        self.row += 1
                    elif char == "\r":
                        self.col = 0
                    elif 0 <= self.row < len(self.lines) and self.col < len(self.lines[0]):
                        self.lines[self.row][self.col] = ord(char) if ord(char) < 128 else 63
                        self.col += 1

    @property
    def text(self) -> bytes:
        return b"\n".join(bytes(line) for line in self.lines)


def ticktape_command() -> list[str]:
    """The installed entry point next to this interpreter (else ``python -m ticktape``)."""
    exe = Path(sys.executable).with_name("ticktape")
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-m", "ticktape"]


def launch_once(timeout: float = 30.0) -> float:
    """Seconds from spawn to the first painted price."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    config = tempfile.mkdtemp(prefix="ticktape-bench-")
    env = {k: v for k, v in os.environ.items() if "API_KEY" not in k}
    env.update(TERM="xterm-256color", XDG_CONFIG_HOME=config)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [*ticktape_command(), "--sim", "--symbols", ",".join(WATCHLIST)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    screen = ScreenText(COLS, ROWS)
    found: float | None = None
    try:
        while found is None and time.perf_counter() - t0 < timeout:
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:  # the child closed the terminal
                break
            screen.feed(chunk)  # the app sends only the cells that change: follow the screen
            if _PRICED.search(screen.text):
                found = time.perf_counter() - t0
    finally:
        _quit(proc, master)
        shutil.rmtree(config, ignore_errors=True)
    if found is None:
        raise Unavailable(f"no price painted within {timeout:g} s (exit code {proc.returncode})")
    return found


def _quit(proc: subprocess.Popen[bytes], master: int) -> None:
    """ctrl+q, then the process group we started, by its id, if it lingers."""
    with contextlib.suppress(OSError):
        os.write(master, _QUIT)
    try:
        # Drain the terminal while it shuts down, so the app never blocks writing.
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                with contextlib.suppress(OSError):
                    os.read(master, 1 << 16)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    finally:
        os.close(master)


def run(*, launches: int = 5) -> Result:
    """Median of several launches."""
    require("ticktape.sim.process", "ticktape.commands.run")
    times = [launch_once() for _ in range(launches)]
    return {
        "first_paint_s": median(times),
        "first_paint_min_s": min(times),
        "first_paint_max_s": max(times),
        "startup_launches": launches,
    }
