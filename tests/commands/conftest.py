"""Helpers for the command tests that run ``python -m ticktape …`` as a real process."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


@asynccontextmanager
async def ticktape_process(*args: str, **kwargs: Any) -> AsyncIterator[asyncio.subprocess.Process]:
    """``python -m ticktape ARGS`` with its output piped (``kwargs``: env, cwd); killed if it is
    still running when the block ends, so a failed test leaves no process behind."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ticktape",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        **kwargs,
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def ctrl_c(proc: asyncio.subprocess.Process) -> bytes:
    """Interrupt the process as Ctrl-C does; what it wrote to stderr once it has exited."""
    proc.send_signal(signal.SIGINT)
    async with asyncio.timeout(20):
        _, err = await proc.communicate()
    return err
