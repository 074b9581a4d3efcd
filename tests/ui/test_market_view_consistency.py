"""One change per symbol: the movers board and the watchlist agree on a simulated market,
during the session and after the close with after-hours prints (where the watchlist adds AH)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from ticktape.config import Settings
from ticktape.feed.events import Event
from ticktape.market import MarketState
from ticktape.market.marketview import MarketBoards
from ticktape.sim.market import SimMarket
from ticktape.sim.model_calendar import ET
from ticktape.sim.snapshots import ticker_snapshot
from ticktape.ui.app import TicktapeApp
from ticktape.ui.marketview import MarketScreen, mover_rows
from ticktape.ui.screen import MainScreen
from ticktape.ui.watchlist import Watchlist

from .conftest import MakeApp, until

WATCH = ("AAPL", "MSFT", "KO", "NVDA")
#: Monday 2025-06-09 15:00 New York: the simulation sees Monday's close and after-hours,
#: then all of Tuesday.
START = int(datetime(2025, 6, 9, 15, 0, tzinfo=ET).timestamp() * 1000)
SPEED = 20.0


def ny(hour: int, minute: int = 0) -> int:
    """Tuesday 2025-06-10 at ``hour:minute`` New York, in market ms."""
    return int(datetime(2025, 6, 10, hour, minute, tzinfo=ET).timestamp() * 1000)


def simulated() -> SimMarket:
    # rate per wall second at SPEED: one event every 2 s of market time, a few a minute a symbol
    return SimMarket(seed=11, symbols=WATCH, rate=10.0, speed=SPEED, start_ms=START)


def run(sim: SimMarket, until_ms: int) -> list[list[Event]]:
    """The simulator's frames up to market time ``until_ms``, one per market minute."""
    frames = []
    t = sim.now_ms
    while t < until_ms:
        t = min(t + 60_000, until_ms)
        wall = START + int((t - START) / SPEED) + 1
        frames.append(sim.advance(wall))
    return frames


def watchlist_change(app: TicktapeApp, symbol: str) -> tuple[str, str, str]:
    """The watchlist row's Chg, %Chg and Ext hrs cells as drawn."""
    wl = app.main.query_one(Watchlist)
    row = wl._rows[symbol]  # the texts the row draws
    return row.texts["change"], row.texts["change_pct"], row.texts["extended"]


def movers_shown(app: TicktapeApp) -> dict[str, tuple[str, str]]:
    """Each movers row's Chg and %Chg as drawn, by symbol."""
    screen = app.screen
    if not isinstance(screen, MarketScreen):
        return {}
    cells = ([c[0] for c in row.cells] for row in screen.board("movers").rows)
    return {c[0]: (c[2], c[3]) for c in cells}


async def check_agree(pilot: Any, app: TicktapeApp, *, after_hours: bool) -> None:
    """Read each symbol's change on the movers board, then on the watchlist (``m`` back)."""
    boards = app.market_view.boards
    assert boards is not None
    # what the board holds now, once the view has repainted it
    movers = {r.cells[0][0]: (r.cells[2][0], r.cells[3][0]) for r in mover_rows(boards, "gainers")}
    assert len(movers) == len(WATCH)
    await until(pilot, lambda: movers_shown(app) == movers)
    await pilot.press("m")
    await until(pilot, lambda: isinstance(app.screen, MainScreen))
    for symbol in WATCH:
        await until(pilot, lambda s=symbol: watchlist_change(app, s)[:2] == movers[s])
        extended = watchlist_change(app, symbol)[2]
        assert extended.startswith("AH ") == after_hours, (symbol, extended)
    await pilot.press("m")
    await until(pilot, lambda: isinstance(app.screen, MarketScreen) and app.screen.ready)


async def test_movers_and_watchlist_show_one_change_during_and_after_the_session(
    make_app: MakeApp, settings: Settings
) -> None:
    sim = simulated()
    state = MarketState()
    # Monday's close and after-hours, then Tuesday to 15:30: the state rolls the day over
    for frame in run(sim, ny(15, 30)):
        state.apply(frame, 0)
    now = ny(16, 30)
    app = make_app(state=state, clock=lambda: now, settings=settings.with_(watchlist=WATCH))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, MarketScreen) and app.screen.ready)
        boards = app.market_view.boards
        assert boards is not None
        # the view opens in the session: seeded from the simulator's snapshots, as on opening
        snaps = [ticker_snapshot(sim, s) for s in WATCH]
        boards.seed(s for s in snaps if s is not None)
        await check_agree(pilot, app, after_hours=False)
        # to the close and past it: both take the same frames, after-hours prints included
        for frame in run(sim, now):
            app.feed.on_events(frame, 0)
        await check_agree(pilot, app, after_hours=True)
        # and seeded afresh after the close (the snapshot's day is the regular session's)
        fresh = MarketBoards()
        fresh.seed(s for s in (ticker_snapshot(sim, s) for s in WATCH) if s is not None)
        for m in fresh.movers.rows.values():
            assert (m.change, m.pct) == pytest.approx(
                (boards.movers.rows[m.symbol].change, boards.movers.rows[m.symbol].pct)
            )
