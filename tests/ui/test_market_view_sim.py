"""`ticktape --sim` end to end: the simulator child plays a whole market, the watchlist stays
as chosen and subscribed alone, and the market view fills from thousands of symbols."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import ticktape.commands.run as run
from ticktape.feed.session import ConnState
from ticktape.sim.process import APP_LISTED
from ticktape.ui.app import TicktapeApp

from .conftest import until

WATCH = ("AAPL", "KO")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new user: a private config dir, no key, no hub, nothing in the environment."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("TICKTAPE_HUB", "off")
    for var in ("POLYGON_API_KEY", "MASSIVE_API_KEY", "TICKTAPE_WATCHLIST", "TICKTAPE_WS_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


async def drive(app: TicktapeApp, seen: dict[str, object]) -> None:
    async with app.run_test(size=(160, 48)) as pilot:
        await until(
            pilot,
            lambda: (
                app.feed.session is not None and app.feed.session.status.state is ConnState.LIVE
            ),
            within=60,
        )
        session = app.feed.session
        assert session is not None
        await until(pilot, lambda: app.state.get("AAPL") is not None, within=60)
        seen["before"] = set(session.subscribed)
        await until(pilot, lambda: app.feed.rest is not None, within=60)
        await pilot.press("m")
        boards = app.market_view.boards
        assert boards is not None
        # seeded from the simulator's snapshots of the whole market, and blocks from its T.*
        # (deadlines, not waits: a first snapshot of 3,000 names takes seconds under load)
        await until(pilot, lambda: len(boards.movers.rows) > APP_LISTED // 2, within=180)
        await until(pilot, lambda: any(b.symbol not in WATCH for b in boards.blocks.blocks), 120)
        seen["movers"] = len(boards.movers.rows)
        seen["state"] = set(app.state.symbols)
        seen["watchlist"] = app.watched()
        await pilot.press("m")


def test_the_app_on_the_simulator_sees_a_whole_market_and_keeps_its_watchlist(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, object] = {}

    def run_app(app: TicktapeApp) -> None:
        asyncio.run(drive(app, seen))

    monkeypatch.setattr(TicktapeApp, "run", run_app)
    assert run.main(["--sim", *WATCH]) == 0
    assert seen["watchlist"] == WATCH
    # before the view: the watchlist's channels only, nothing market-wide
    before = seen["before"]
    assert isinstance(before, set) and before and all(p.split(".")[1] in WATCH for p in before)
    movers = seen["movers"]
    assert isinstance(movers, int) and movers > APP_LISTED // 2
    assert seen["state"] == set(WATCH)  # the whole market never became per-symbol state
