"""Fixtures for the web server's tests: a served instance on 127.0.0.1, tabs as cheap fakes."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from aiohttp import web

from ticktape.web.server import Gate, TabCommand, TicktapeServer

#: Every wait in these tests ends by this deadline (seconds).
DEADLINE = 20.0
FAKE_APP = (sys.executable, str(Path(__file__).with_name("fake_app.py")))

Served = tuple[TicktapeServer, str]


@asynccontextmanager
async def served(gate: Gate, tab: TabCommand | None = None) -> AsyncIterator[Served]:
    """The server on 127.0.0.1 at a port the OS chose; yields it and its base URL."""
    server = TicktapeServer(tab or TabCommand(FAKE_APP, dict(os.environ)), gate)
    runner = web.AppRunner(await server.make_app(), access_log=None, shutdown_timeout=5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


Serve = Callable[..., AbstractAsyncContextManager[Served]]
