"""The app against the real simulator on 127.0.0.1: the same Session/RestClient paths as live."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import pytest
from websockets.asyncio.server import ServerConnection, serve

from ticktape.config import Settings
from ticktape.feed.session import ConnState
from ticktape.sim.server import Simulator
from ticktape.ui.app import TicktapeApp
from ticktape.ui.statusbar import KEY_REJECTED
from ticktape.ui.watchlist import Watchlist

from .conftest import is_live, until

SIZE = (120, 36)
SYMBOLS = ("AAPL", "MSFT", "NVDA")


def sim_settings(settings: Settings, sim: Simulator, key: str) -> Settings:
    return settings.with_(
        ws_url=sim.ws_url, rest_url=sim.rest_url, api_key=key, watchlist=SYMBOLS, fps=20
    )


async def test_streams_seeds_and_quits_cleanly(settings: Settings) -> None:
    async with Simulator(seed=3, symbols=SYMBOLS, rate=300.0) as sim:
        app = TicktapeApp(sim_settings(settings, sim, "any"), feed_label="SIMULATED")
        async with app.run_test(size=SIZE) as pilot:
            await until(
                pilot,
                lambda: is_live(app),
            )
            # live trades reach the watchlist through MarketState, no message per event
            await until(pilot, lambda: all(app.state.get(s) is not None for s in SYMBOLS))
            await until(pilot, lambda: app.state.get("AAPL").last is not None)  # type: ignore[union-attr]
            # the REST seed filled minute history and the chart stopped "loading"
            await until(pilot, lambda: len(app.state.bars("AAPL", "1m")) > 100, within=30)
            await until(pilot, lambda: not app.is_loading("AAPL"), within=30)
            await until(pilot, lambda: "connected" in app.main.status.plain)
            # adding a symbol subscribes to it
            app.main.add_symbol("TSLA")
            await until(pilot, lambda: "TSLA" in app.feed.session.symbols)  # type: ignore[union-attr]
            await until(pilot, lambda: app.state.get("TSLA") is not None, within=20)
            session = app.feed.session
            assert session is not None
            await pilot.press("q")
            await until(pilot, lambda: session.status.state is ConnState.STOPPED)
        # the server saw the connection close (not just our side giving up on it)
        deadline = time.monotonic() + 10
        while sim.connections:
            assert time.monotonic() < deadline, "the app left its websocket open"
            await asyncio.sleep(0.02)


async def test_wrong_key_says_so_and_the_app_stays_usable(settings: Settings) -> None:
    async with Simulator(seed=3, symbols=SYMBOLS, rate=100.0, api_key="right") as sim:
        app = TicktapeApp(sim_settings(settings, sim, "wrong"), feed_label="SIMULATED")
        async with app.run_test(size=SIZE) as pilot:
            await until(
                pilot,
                lambda: app.feed.status is not None and app.feed.status.state.name == "AUTH_FAILED",
            )
            await until(pilot, lambda: KEY_REJECTED in app.main.status.plain)
            assert app.main.status.plain.count(KEY_REJECTED) == 1  # the state line, not twice
            assert any(KEY_REJECTED in n.message for n in app._notifications)
            await pilot.press("j")
            assert app.main.watchlist.selected == "MSFT"
            assert app.feed.session is not None and app.feed.session.connections == 1


async def test_a_channel_the_plan_lacks_is_said_on_the_tape(settings: Settings) -> None:
    async with Simulator(seed=3, symbols=SYMBOLS, rate=200.0, refused_channels=["Q"]) as sim:
        app = TicktapeApp(sim_settings(settings, sim, "any"), feed_label="SIMULATED")
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: "Q.AAPL" in app.refused)
            await pilot.press("t")  # the quotes tape of the selected symbol, AAPL
            tape = app.main.tape
            want = "quotes are not in your plan: the server refused Q.AAPL"
            await until(pilot, lambda: any(want in line for line in tape.visible_text))
            # told once for the channel, not once per refused symbol
            await until(pilot, lambda: {"Q.MSFT", "Q.NVDA"} <= app.refused)
            refusals = [n for n in app._notifications if "not authorized" in n.message]
            assert len(refusals) == 1
            await pilot.press("t")  # trades are in the plan: no such line
            await until(pilot, lambda: not any(want in line for line in tape.visible_text))


def row_marks(wl: Watchlist) -> list[str]:
    """The mark drawn at the start of each symbol row (``~`` stale, blank when current)."""
    return [wl.render_line(y).text[0] for y in range(1, len(wl.symbols) + 1)]


async def test_every_row_reads_stale_while_the_feed_is_down_and_current_once_it_is_back(
    settings: Settings,
) -> None:
    """The server goes away: the rows say their prices are not current at once (not a
    minute later, when each would go stale on its own), and stop saying so once the
    feed is back on the same address."""
    first = Simulator(seed=3, symbols=SYMBOLS, rate=300.0, close_timeout=1.0)
    await first.__aenter__()
    port = urlsplit(first.ws_url).port
    app = TicktapeApp(sim_settings(settings, first, "any"), feed_label="SIMULATED")
    up = True
    try:
        async with app.run_test(size=SIZE) as pilot:
            wl = app.main.watchlist

            def marks() -> list[str]:
                return row_marks(wl)

            await until(pilot, lambda: marks() == [" "] * len(SYMBOLS), seen=marks)
            up = False
            await first.__aexit__(None, None, None)  # the feed drops and stays down
            await until(pilot, lambda: marks() == ["~"] * len(SYMBOLS), seen=marks)
            assert app.feed.status is not None and app.feed.status.state is not ConnState.LIVE
            async with Simulator(port=port, seed=4, symbols=SYMBOLS, rate=300.0):
                await until(pilot, lambda: marks() == [" "] * len(SYMBOLS), 30, marks)
                assert app.feed.status is not None and app.feed.status.state is ConnState.LIVE
                await pilot.press("q")
    finally:
        if up:
            await first.__aexit__(None, None, None)


@pytest.mark.parametrize("said", ["[b]x[/b] [i]y[/i] [dim]z", "[link=http://x]y[/link]"])
async def test_markup_in_server_text_is_drawn_literally_in_the_toast_and_the_bar(
    settings: Settings, said: str
) -> None:
    """A server's words reach the screen as the server wrote them: markup in a status
    message is neither styled away nor turned into a link (nor does it crash the app)."""

    async def server(ws: ServerConnection) -> None:
        await ws.send('[{"ev":"status","status":"connected","message":"hi"}]')
        await ws.recv()  # the auth action
        await ws.send('[{"ev":"status","status":"auth_success","message":"ok"}]')
        await ws.send(f'[{{"ev":"status","status":"error","message":"{said}"}}]')
        await ws.wait_closed()

    # The simulator answers the history requests, so no REST notice takes the bar.
    async with serve(server, "127.0.0.1", 0) as ws_server, Simulator(symbols=SYMBOLS) as sim:
        port = ws_server.sockets[0].getsockname()[1]
        feed = sim_settings(settings, sim, "any").with_(ws_url=f"ws://127.0.0.1:{port}")
        app = TicktapeApp(feed, feed_label="LOOPBACK")
        async with app.run_test(size=(160, 36), notifications=True) as pilot:
            literal = f"server: {said}"

            def drawn() -> list[str]:
                return [
                    s.text for s in app.screen._compositor.render_strips() if "server" in s.text
                ]

            # one line in the toast, one in the status bar: both as sent
            await until(pilot, lambda: sum(literal in line for line in drawn()) == 2, seen=drawn)
            assert app.is_running
