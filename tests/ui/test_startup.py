"""Start-up: the simulator boots beside the app, and prices are painted before anything else.

What a user relies on: ``ticktape`` shows a moving market within a second.
So the launcher spawns the simulator before Textual is even imported, the
app paints the first prices as soon as they arrive (not on the next timer
tick), and REST history waits until prices are on screen. Also here: the
quotes view's columns line up under their titles.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from textual.timer import Timer

import ticktape.ui.feedlink as feedlink_module
from ticktape.config import Settings
from ticktape.feed.events import Quote
from ticktape.market import MarketState
from ticktape.sim.process import SimProcess, SimProcessError
from ticktape.sim.server import Simulator
from ticktape.ui.app import TicktapeApp
from ticktape.ui.tape import TapeView

from .conftest import Host, until

SIZE = (120, 36)
SYMBOLS = ("AAPL", "MSFT", "NVDA")
_PRICED_ROW = re.compile(r"\b(?:AAPL|MSFT|NVDA)\s+\d[\d,]*\.\d{2}")


def live_settings(settings: Settings, sim: Simulator) -> Settings:
    return settings.with_(
        ws_url=sim.ws_url, rest_url=sim.rest_url, api_key="any", watchlist=SYMBOLS
    )


def priced_rows(app: TicktapeApp) -> list[str]:
    """Watchlist lines that show a symbol with a price, as the user sees them."""
    wl = app.main.watchlist
    lines = [wl.render_line(y).text for y in range(wl.size.height)]
    return [line for line in lines if _PRICED_ROW.search(line)]


def without_frame_timer(app: TicktapeApp) -> TicktapeApp:
    """The app with its refresh timer created paused: only the data path can paint."""
    set_interval = app.set_interval

    def paused_frames(interval: float, callback: Any = None, **kwargs: Any) -> Timer:
        if callback == app.frames.tick:
            kwargs["pause"] = True
        return set_interval(interval, callback, **kwargs)

    app.set_interval = paused_frames  # type: ignore[method-assign]
    return app


async def test_first_prices_are_painted_without_waiting_for_a_timer_tick(
    settings: Settings,
) -> None:
    async with Simulator(seed=3, symbols=SYMBOLS, rate=300.0) as sim:
        app = without_frame_timer(TicktapeApp(live_settings(settings, sim), feed_label="SIMULATED"))
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: bool(priced_rows(app)))


async def test_rest_history_waits_until_prices_are_on_screen(settings: Settings) -> None:
    async with Simulator(seed=3, symbols=SYMBOLS, rate=300.0) as sim:
        app = TicktapeApp(live_settings(settings, sim), feed_label="SIMULATED")
        seen: list[tuple[int, int]] = []  # (priced rows, REST requests) when REST was started
        start_rest = app.feed.start_rest

        def spy() -> None:
            seen.append((len(priced_rows(app)), sim.rest_requests))
            start_rest()

        app.feed.start_rest = spy  # type: ignore[method-assign]
        async with app.run_test(size=SIZE) as pilot:
            assert app.is_loading("AAPL")  # the chart says history is coming
            await until(pilot, lambda: len(app.state.bars("AAPL", "1m")) > 100, within=30)
            await until(pilot, lambda: not app.is_loading("AAPL"), within=30)
            await pilot.press("q")
    priced, requests = seen[0]
    assert priced > 0 and requests == 0


async def test_history_still_loads_when_no_prices_come(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feedlink_module, "REST_AFTER_S", 0.3)
    refused = ("T", "Q", "AM", "LULD", "NOI")  # a plan with REST but none of these channels
    async with Simulator(seed=3, symbols=SYMBOLS, rate=300.0, refused_channels=refused) as sim:
        app = TicktapeApp(live_settings(settings, sim), feed_label="SIMULATED")
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: len(app.state.bars("AAPL", "1m")) > 100, within=30)
            assert len(app.state.tape) == 0  # not a single live trade came
            await pilot.press("q")


async def test_a_feed_that_never_starts_ends_the_app_with_the_reason(
    settings: Settings, capfd: pytest.CaptureFixture[str]
) -> None:
    async def broken() -> tuple[str, str]:
        raise SimProcessError("simulator exited: port in use")

    app = TicktapeApp(settings.with_(api_key="x"), feed_label="SIMULATED", feed_urls=broken)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_code == 1
    assert "the feed did not start: simulator exited: port in use" in capfd.readouterr().err


async def test_simulator_process_boots_in_the_background_and_is_awaited() -> None:
    with SimProcess("--rate", "50", wait=False) as sim:
        assert sim.urls == []  # spawned, not waited for
        ws_url, rest_url = await sim.started()
        assert ws_url.startswith("ws://127.0.0.1:") and rest_url.startswith("http://127.0.0.1:")
        assert sim.urls[0] == ws_url + "/stocks"
        assert await sim.started() == (ws_url, rest_url)  # already known: no second read


async def test_a_simulator_that_dies_at_start_reports_why() -> None:
    with (
        SimProcess("--no-such-flag", wait=False) as sim,
        pytest.raises(SimProcessError, match="no-such-flag"),
    ):
        await sim.started()


def test_launcher_spawns_the_simulator_before_importing_textual(tmp_path: Path) -> None:
    """Both then boot at once; importing Textual first would serialise ~0.2 s of start-up."""
    probe = (
        "import sys\n"
        "import ticktape.commands.run as launch\n"
        "class Probe:\n"
        "    def __init__(self, *args, **kwargs):\n"
        "        print('textual' in sys.modules, kwargs.get('wait'))\n"
        "        raise SystemExit(0)\n"
        "launch.SimProcess = Probe\n"
        "launch.main(['--sim', 'AAPL'])\n"
    )
    env = {k: v for k, v in os.environ.items() if "API_KEY" not in k}
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


async def test_quote_sizes_are_right_aligned_under_their_titles() -> None:
    t0 = 1_736_951_400_000
    state = MarketState(record_all_quotes=True)
    state.apply(
        [
            Quote(symbol="AAPL", bid=100.0, ask=100.02, bid_size=3, ask_size=4, timestamp=t0),
            Quote(
                symbol="AAPL",
                bid=100.01,
                ask=100.03,
                bid_size=1_200,
                ask_size=25_000,
                timestamp=t0 + 1,
            ),
        ],
        t0 + 5,
    )
    tape = TapeView()
    app = Host(tape)
    async with app.run_test(size=(100, 6)) as pilot:
        tape.mode = "quotes"
        tape.show(state, "AAPL")
        await pilot.pause()
        header, newest, older = tape.visible_text[:3]
    for title, big, small in (("BidSz", "1,200", "3"), ("AskSz", "25,000", "4")):
        right_edge = header.index(title) + len(title)
        assert newest.index(big) + len(big) == right_edge, (header, newest)
        # the one-digit size sits in the column's last cell, in the row below
        assert older[right_edge - 1] == small and older[right_edge] == " ", (header, older)
