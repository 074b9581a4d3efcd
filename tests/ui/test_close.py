"""Leaving the app any way but ``q`` still closes the websocket and the HTTP client."""

from __future__ import annotations

import asyncio
import time

from ticktape.config import Settings
from ticktape.sim.server import Simulator
from ticktape.ui.app import TicktapeApp

from .conftest import is_live, until
from .test_live import SIZE, SYMBOLS, sim_settings


async def test_exit_without_quit_closes_the_feed(settings: Settings) -> None:
    async with Simulator(seed=3, symbols=SYMBOLS, rate=100.0) as sim:
        app = TicktapeApp(sim_settings(settings, sim, "any"), feed_label="SIMULATED")
        async with app.run_test(size=SIZE) as pilot:
            await until(
                pilot,
                lambda: is_live(app),
            )
            await until(
                pilot, lambda: app.feed.rest is not None, within=30
            )  # REST opens after prices
            rest = app.feed.rest
            assert rest is not None and sim.connections == 1
            app.exit()  # as a crash handler or a fatal error path would, not via action_quit
        # the server saw the connection close, not just our side giving up on it
        deadline = time.monotonic() + 10
        while sim.connections:
            assert time.monotonic() < deadline, "app.exit() left the websocket open"
            await asyncio.sleep(0.02)
        assert rest._http.is_closed  # the RestClient's httpx pool was closed too
        assert app.feed.session is None and app.feed.rest is None
        await app.close_feed()  # idempotent: a second close is a no-op, not an error
