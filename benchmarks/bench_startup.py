"""Start-up: ``ticktape --sim`` in a pseudo-terminal → the first watchlist row with a price.

The real command, as a user runs it: a fresh interpreter, the imports, the
simulator's child process, the websocket handshake, the first frames and the
first paint that shows a price. The clock starts just before the process is
spawned and stops when the terminal output (escape sequences stripped) shows
a watchlist symbol followed by a price. Each launch then quits with ctrl+q,
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
_ESCAPES: Final = re.compile(rb"\x1b\[[0-9;?<>=$]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")
_PRICED: Final = re.compile(
    rb"\b(?:" + b"|".join(s.encode() for s in WATCHLIST) + rb")\s+\d[\d,]*\.\d{2}"
)
_QUIT: Final = b"\x11"  # ctrl+q


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
    seen = b""
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
            seen = (seen + chunk)[-(1 << 20) :]
            if _PRICED.search(_ESCAPES.sub(b"", seen)):
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
