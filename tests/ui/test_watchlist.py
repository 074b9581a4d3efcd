"""The watchlist repaints only changed rows, flashes changed cells, and marks stale symbols."""

from __future__ import annotations

from ticktape.feed.events import Trade
from ticktape.ui.watchlist import FLASH_MS, STALE_MS

from .conftest import NOW_MS, MakeApp, build_state, until


async def test_changed_rows_flash_then_settle_and_stale_rows_are_marked(make_app: MakeApp) -> None:
    state = build_state()
    now = [NOW_MS]
    app = make_app(state=state, clock=lambda: now[0])
    async with app.run_test(size=(120, 36)) as pilot:
        wl = app.main.watchlist
        await until(pilot, lambda: "MSFT" in wl.render_line(2).text)
        msft = state.get("MSFT")
        assert msft is not None and msft.last is not None
        repainted: list[int] = []
        original = wl.refresh_line
        wl.refresh_line = lambda y: (repainted.append(y), original(y))  # type: ignore[method-assign]

        up = wl.get_component_rich_style("watchlist--flash-up").bgcolor
        state.apply(
            [Trade(symbol="MSFT", price=msft.last + 1.0, size=100, timestamp=now[0])], now[0]
        )
        await until(
            pilot, lambda: any(s.style and s.style.bgcolor == up for s in wl.render_line(2))
        )
        assert set(repainted) == {2}, "only the MSFT row repaints"
        assert f"{msft.last:,.2f}" in wl.render_line(2).text

        now[0] += FLASH_MS + 1
        await until(
            pilot, lambda: all(s.style is None or s.style.bgcolor != up for s in wl.render_line(2))
        )

        assert not wl.render_line(2).text.startswith("~")
        now[0] = msft.updated_ms + STALE_MS + 1
        await until(pilot, lambda: wl.render_line(2).text.startswith("~"))
