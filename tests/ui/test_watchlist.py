"""The watchlist: changed rows repaint and flash, stale rows are marked, keys and sort work."""

from __future__ import annotations

from datetime import datetime

import pytest
from textual.geometry import Region

from ticktape.config import Settings
from ticktape.feed.conditions import FORM_T
from ticktape.feed.events import ForexQuote, Trade
from ticktape.market import MarketState
from ticktape.markethours import ET
from ticktape.ui.watchlist import COLUMN_KEYS, FLASH_MS, STALE_MS, Watchlist, fit_columns

from .conftest import NOW_MS, Host, MakeApp, build_state, until


async def test_changed_rows_flash_then_settle_and_stale_rows_are_marked(make_app: MakeApp) -> None:
    state = build_state()
    now = [NOW_MS]
    app = make_app(state=state, clock=lambda: now[0])
    async with app.run_test(size=(120, 36)) as pilot:
        wl = app.main.watchlist
        await until(pilot, lambda: "MSFT" in wl.render_line(2).text)
        msft = state.get("MSFT")
        assert msft is not None and msft.last is not None
        repainted: list[Region] = []
        original = wl.refresh

        def refresh(*regions: Region, **kwargs: bool) -> Watchlist:
            repainted.extend(regions or [Region(0, 0, wl.size.width, wl.size.height)])
            return original(*regions, **kwargs)

        wl.refresh = refresh  # type: ignore[method-assign]

        up = wl.get_component_rich_style("watchlist--flash-up").bgcolor
        state.apply(
            [Trade(symbol="MSFT", price=msft.last + 1.0, size=100, timestamp=now[0])], now[0]
        )
        await until(
            pilot, lambda: any(s.style and s.style.bgcolor == up for s in wl.render_line(2))
        )
        assert {r.y for r in repainted} == {2}, "only the MSFT row repaints"
        assert all(r.height == 1 for r in repainted)
        symbol_cell = Region(1, 2, 7, 1)  # the symbol did not change: its cell is not resent
        assert not any(r.overlaps(symbol_cell) for r in repainted)
        assert f"{msft.last:,.2f}" in wl.render_line(2).text

        now[0] += FLASH_MS + 1
        await until(
            pilot, lambda: all(s.style is None or s.style.bgcolor != up for s in wl.render_line(2))
        )

        assert not wl.render_line(2).text.startswith("~")
        now[0] = msft.updated_ms + STALE_MS + 1
        await until(pilot, lambda: wl.render_line(2).text.startswith("~"))


def forex_state() -> MarketState:
    state = MarketState()
    state.seed_bars("EUR/USD", [], prev_close=1.0497)
    state.seed_bars("USD/JPY", [], prev_close=151.2365)
    state.apply(
        [
            ForexQuote(pair="EUR/USD", bid=1.04935, ask=1.04947, timestamp=NOW_MS),
            ForexQuote(pair="USD/JPY", bid=151.3002, ask=151.3046, timestamp=NOW_MS),
        ],
        NOW_MS,
    )
    return state


def row_cells(wl: Watchlist, symbol: str) -> dict[str, str]:
    """The visible cells of ``symbol``'s row, by column key (trailing blank cells left out)."""
    y = wl.display_order.index(symbol) + 1 - int(wl.scroll_y)
    words = wl.render_line(y).text[1:].split()
    return dict(zip(wl.visible_columns, words, strict=False))


async def test_forex_prices_keep_fractional_pips() -> None:
    wl = Watchlist(("EUR/USD", "USD/JPY"))
    async with Host(wl).run_test(size=(84, 6)) as pilot:
        wl.show(forex_state(), NOW_MS)
        await pilot.pause()
        assert {"last", "change", "bid", "ask", "spread"} <= set(wl.visible_columns)
        eur, jpy = row_cells(wl, "EUR/USD"), row_cells(wl, "USD/JPY")
        assert eur["last"] == "1.04941" and eur["change"] == "-0.00029"
        assert (eur["bid"], eur["ask"], eur["spread"]) == ("1.04935", "1.04947", "0.00012")
        assert jpy["last"] == "151.302" and jpy["change"] == "+0.066"
        assert (jpy["bid"], jpy["ask"], jpy["spread"]) == ("151.300", "151.305", "0.004")


async def test_page_home_and_end_move_the_selection_in_a_long_list(
    make_app: MakeApp, settings: Settings
) -> None:
    letters = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    symbols = (*letters, "AA", "BB", "CC", "DD")
    app = make_app(settings=settings.with_(watchlist=symbols))
    async with app.run_test(size=(80, 24)) as pilot:
        wl = app.main.watchlist
        body = wl.size.height - 1
        assert body < len(symbols), "the list overflows the pane"

        def selected_on_screen() -> bool:
            top = int(wl.scroll_y)
            return top <= wl.display_order.index(wl.selected or "") < top + body

        await pilot.press("pagedown")
        assert wl.selected == "K" and selected_on_screen()
        await pilot.press("pagedown")
        assert wl.selected == "U" and selected_on_screen()
        await pilot.press("end")
        assert wl.selected == "DD" and selected_on_screen()
        await until(pilot, lambda: app.main.chart.text_lines[0].startswith("DD"))
        await pilot.press("k")
        assert wl.selected == "CC" and selected_on_screen()
        await pilot.press("pageup")
        assert wl.selected == "S" and selected_on_screen()
        await pilot.press("home")
        assert wl.selected == "A" and selected_on_screen()
        await pilot.press("down")
        assert wl.selected == "B" and selected_on_screen()


async def test_sort_label_says_alphabetical_for_the_symbol_column() -> None:
    wl = Watchlist(("AAPL", "MSFT"))
    async with Host(wl).run_test(size=(40, 6)):
        await _sort_labels(wl)


async def _sort_labels(wl: Watchlist) -> None:
    wl.set_sort("symbol", descending=False)
    assert wl.sort_label() == "sorted by Symbol A→Z"
    wl.reverse_sort()
    assert wl.sort_label() == "sorted by Symbol Z→A"
    wl.set_sort("last")
    assert wl.sort_label() == "sorted by Last high→low"


@pytest.mark.parametrize("width", [30, 50, 70])
async def test_sort_cycles_only_through_visible_columns(width: int) -> None:
    wl = Watchlist(("AAPL", "MSFT"))
    async with Host(wl).run_test(size=(width, 6)) as pilot:
        await pilot.pause()
        visible = wl.visible_columns
        assert len(visible) < len(COLUMN_KEYS), "some columns are hidden at this width"
        seen = []
        for _ in range(2 * len(visible) + 2):
            wl.cycle_sort()
            seen.append(wl.sort_key)
        assert seen == [*visible, None] * 2


async def test_sort_cycle_from_a_column_that_got_hidden_moves_on() -> None:
    wl = Watchlist(("AAPL", "MSFT"))
    async with Host(wl).run_test(size=(40, 6)) as pilot:
        await pilot.pause()
        assert not {"spread", "volume", "vwap"} & set(wl.visible_columns)
        wl.set_sort("spread")  # e.g. chosen from the palette, or before the pane narrowed
        wl.cycle_sort()
        assert wl.sort_key is None


async def test_rows_look_stale_at_once_while_the_feed_is_down() -> None:
    state = build_state()
    wl = Watchlist(("AAPL", "MSFT", "ZZZZ"))
    async with Host(wl).run_test(size=(80, 6)) as pilot:
        wl.show(state, NOW_MS)
        await pilot.pause()
        stale = wl.get_component_rich_style("watchlist--stale")

        def looks_stale(y: int) -> bool:
            strip = wl.render_line(y)
            symbol_seg = next(s for s in strip if s.text.strip() and s.text.strip() in "AAPLMSFT")
            return strip.text[0] == "~" and symbol_seg.style == wl.rich_style + stale

        assert not looks_stale(1) and not looks_stale(2)
        wl.set_feed_live(False)
        await pilot.pause()
        assert looks_stale(1) and looks_stale(2)
        assert wl.render_line(3).text[0] == "·", "a row with no data keeps its own mark"
        wl.show(state, NOW_MS)  # frames keep coming while the feed is down
        await pilot.pause()
        assert looks_stale(1) and looks_stale(2)
        wl.set_feed_live(True)
        await pilot.pause()
        assert not looks_stale(1) and not looks_stale(2)
        later = NOW_MS + STALE_MS
        state.apply([Trade(symbol="AAPL", price=100.0, size=100, timestamp=later)], later)
        wl.show(state, later + 1)  # live again: MSFT is stale on its own, AAPL is not
        await pilot.pause()
        assert not looks_stale(1) and looks_stale(2)


def test_narrow_watchlist_keeps_symbol_last_and_pct() -> None:
    assert [c.key for c, _ in fit_columns(27)] == ["symbol", "last", "change_pct"]
    wide = [c.key for c, _ in fit_columns(84)]
    assert wide == [
        "symbol",
        "last",
        "change",
        "change_pct",
        "bid",
        "ask",
        "spread",
        "volume",
        "vwap",
    ]


async def test_after_the_close_an_extended_hours_column_joins_the_regular_change() -> None:
    def at(day: int, hour: int, minute: int) -> int:
        return int(datetime(2023, 11, day, hour, minute, tzinfo=ET).timestamp() * 1000)

    state = MarketState()
    for price, t in ((100.0, at(13, 15, 0)), (102.0, at(14, 15, 59))):
        state.apply([Trade(symbol="X", price=price, size=100, timestamp=t)], t)
    wl = Watchlist(("X",))
    async with Host(wl).run_test(size=(60, 4)) as pilot:
        wl.show(state, at(14, 16, 0))
        await pilot.pause()
        assert "Ext hrs" not in wl.render_line(0).text, "regular hours: no extra column"
        assert row_cells(wl, "X")["change_pct"] == "+2.00%"

        late = at(14, 16, 30)
        trade = Trade(symbol="X", price=103.02, size=100, timestamp=late, conditions=(FORM_T,))
        state.apply([trade], late)
        wl.show(state, late)
        await pilot.pause()
        assert "Ext hrs" in wl.render_line(0).text
        row = wl.render_line(1).text
        assert "103.02" in row and "AH +1.00%" in row
        assert row_cells(wl, "X")["change_pct"] == "+2.00%", "the regular change stays"


async def test_removing_the_last_row_of_a_sort_the_prices_have_overtaken() -> None:
    """It once ended the app (IndexError, found by the key mash): the sort waits up to
    RESORT_MS for new prices, and removing the bottom row re-sorted with the cursor past
    the end of the list."""
    state = MarketState()

    def trades(prices: dict[str, float], t: int) -> None:
        state.apply([Trade(symbol=s, price=p, size=100, timestamp=t) for s, p in prices.items()], t)

    wl = Watchlist(("AAA", "BBB", "CCC"))
    async with Host(wl).run_test(size=(60, 6)):
        wl.set_sort("last")
        trades({"AAA": 300.0, "BBB": 200.0, "CCC": 100.0}, NOW_MS)
        wl.show(state, NOW_MS)
        assert wl.display_order == ("AAA", "BBB", "CCC")
        trades({"AAA": 50.0}, NOW_MS + 100)
        wl.show(state, NOW_MS + 100)  # within RESORT_MS: the rows keep their places
        wl.cursor_to(2)
        assert wl.remove_selected() == ("CCC", 2)
        assert wl.display_order == ("BBB", "AAA")  # re-sorted by the new prices
        assert wl.selected == "BBB"  # the row that was above the removed one
