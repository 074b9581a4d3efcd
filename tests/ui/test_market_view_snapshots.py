"""SVG snapshots of the whole-market view (fixed market, frozen clock, no connection)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from ticktape.ui.marketview import MarketScreen

from .conftest import NOW_MS, MakeApp, build_state, until
from .test_market_view import SNAPSHOTS, whole_market_frame

SnapCompare = Callable[..., bool]


async def market_view(pilot: Pilot[Any]) -> None:
    app: Any = pilot.app
    await until(pilot, lambda: bool(app.main.status.plain))
    await pilot.press("m")
    await until(pilot, lambda: isinstance(app.screen, MarketScreen) and app.screen.ready)
    app.market_view.boards.seed(SNAPSHOTS)
    app.feed.on_events(whole_market_frame(NOW_MS - 60_000), NOW_MS)
    blocks = app.screen.board("blocks")
    await until(pilot, lambda: len(blocks.rows) == 2 and app.screen.status.plain)
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_market_view(snap_compare: SnapCompare, make_app: MakeApp, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(state=build_state()), terminal_size=size, run_before=market_view)
