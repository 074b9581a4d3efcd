"""Every binding of the main screen, driven through Pilot as a user would press it."""

from __future__ import annotations

import io
import tomllib

from rich.console import Console
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import Static

from ticktape.config import Settings
from ticktape.ui.app import TicktapeApp
from ticktape.ui.help import HelpScreen, key_label
from ticktape.ui.keys import APP_KEYS, KEYMAP
from ticktape.ui.marketview import MarketScreen
from ticktape.ui.prompts import SymbolPrompt

from .conftest import SYMBOLS, MakeApp, until

SIZE = (120, 36)


def saved_watchlist(settings: Settings) -> list[str]:
    return list(tomllib.loads(settings.config_path.read_text())["watchlist"])


async def test_moving_the_selection_moves_chart_and_tape(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        wl = app.main.watchlist
        assert wl.selected == "AAPL"
        await pilot.press("j")
        assert wl.selected == "MSFT"
        await pilot.press("down", "down")
        assert wl.selected == "AMZN"
        await pilot.press("k")
        assert wl.selected == "NVDA"
        await pilot.press("up")
        assert wl.selected == "MSFT"
        await pilot.press("end")
        assert wl.selected == "SPY"
        await pilot.press("home")
        assert wl.selected == "AAPL"
        await pilot.press("pagedown")
        assert wl.selected == "SPY"
        await pilot.press("pageup")
        assert wl.selected == "AAPL"
        await pilot.press("k")  # at the top: stays
        assert wl.selected == "AAPL"
        await pilot.press("j", "j")
        # The next frame shows NVDA in the chart header and the tape header.
        await until(pilot, lambda: app.main.chart.text_lines[0].startswith("NVDA"))
        await until(pilot, lambda: "NVDA" in app.main.tape.label)


async def test_typing_letters_jumps_to_the_first_match(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        wl = app.main.watchlist
        await pilot.press("n")
        assert wl.selected == "NVDA"
        await pilot.press("g", "o")
        assert wl.selected == "GOOGL"


async def test_slash_goes_to_any_symbol_even_one_starting_with_a_bound_letter(
    make_app: MakeApp,
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash")
        await until(pilot, lambda: isinstance(app.screen, SymbolPrompt))
        await pilot.press("t", "s", "enter")
        await until(pilot, lambda: app.screen is app.main)
        assert app.main.watchlist.selected == "TSLA"


async def test_number_keys_switch_the_chart_timeframe(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        chart = app.main.chart
        for key, timeframe in (("2", "5m"), ("3", "15m"), ("4", "1h"), ("5", "1D"), ("1", "1m")):
            await pilot.press(key)
            assert chart.timeframe == timeframe
        await until(pilot, lambda: " 1m" in chart.text_lines[0])


async def test_tape_keys(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        tape = app.main.tape
        await pilot.press("space")
        assert tape.paused
        await until(pilot, lambda: "PAUSED" in tape.label)
        await pilot.press("space")
        assert not tape.paused
        await pilot.press("t")
        assert tape.mode == "quotes"
        await pilot.press("t")
        assert tape.mode == "trades"
        await pilot.press("A")
        assert tape.scope_all
        await until(pilot, lambda: "ALL" in tape.label)
        await pilot.press("A")
        assert not tape.scope_all
        sizes = []
        for _ in range(6):
            await pilot.press("f")
            sizes.append(tape.min_size)
        assert sizes == [100, 500, 1_000, 5_000, 10_000, 0]


async def test_add_validates_and_persists(make_app: MakeApp, settings: Settings) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        wl = app.main.watchlist
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, SymbolPrompt))
        await pilot.press("1", "x", "enter")  # not a stock symbol: the prompt stays
        assert isinstance(app.screen, SymbolPrompt)
        assert "not a symbol" in str(app.screen.query_one("#prompt-error").render())
        await pilot.press("backspace", "backspace", "i", "b", "m", "enter")
        await until(pilot, lambda: app.screen is app.main)
        assert wl.symbols[-1] == "IBM"
        assert wl.selected == "IBM"
        await until(pilot, lambda: settings.config_path.exists())
        assert saved_watchlist(settings) == [*SYMBOLS, "IBM"]
        # escape cancels without adding
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, SymbolPrompt))
        await pilot.press("x", "escape")
        await until(pilot, lambda: app.screen is app.main)
        assert len(wl.symbols) == len(SYMBOLS) + 1


async def test_remove_and_undo(make_app: MakeApp, settings: Settings) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        wl = app.main.watchlist
        await pilot.press("j", "j", "d")
        assert "NVDA" not in wl.symbols
        assert wl.selected == "AMZN"
        await until(pilot, lambda: settings.config_path.exists())
        assert "NVDA" not in saved_watchlist(settings)
        await pilot.press("home", "d")
        assert wl.symbols[0] == "MSFT"
        await pilot.press("u")
        assert wl.symbols[0] == "AAPL"
        await pilot.press("u")
        assert wl.symbols == SYMBOLS
        assert wl.selected == "NVDA"
        await until(pilot, lambda: saved_watchlist(settings) == list(SYMBOLS))


async def test_reorder_with_shift_arrows_and_capital_jk(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        wl = app.main.watchlist
        await pilot.press("J")
        await until(pilot, lambda: wl.symbols[:2] == ("MSFT", "AAPL"))
        assert wl.selected == "AAPL"
        await pilot.press("shift+down")
        await until(pilot, lambda: wl.symbols[:3] == ("MSFT", "NVDA", "AAPL"))
        await pilot.press("K", "shift+up")
        await until(pilot, lambda: wl.symbols[:3] == ("AAPL", "MSFT", "NVDA"))


async def test_sort_cycles_columns_and_reverses(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        wl = app.main.watchlist
        await pilot.press("s")
        assert wl.sort_key == "symbol"
        assert wl.display_order == tuple(sorted(SYMBOLS))
        await pilot.press("S")
        assert wl.display_order == tuple(sorted(SYMBOLS, reverse=True))
        await pilot.press("s", "s", "s")
        assert wl.sort_key == "change_pct"
        pct = [app.state.get(s).change_pct for s in wl.display_order]  # type: ignore[union-attr]
        assert pct == sorted(pct, reverse=True)
        # reordering is refused while sorted, and the manual order is untouched
        await pilot.press("J")
        assert wl.symbols == SYMBOLS
        for _ in range(20):
            if wl.sort_key is None:
                break
            await pilot.press("s")
        assert wl.sort_key is None
        assert wl.display_order == SYMBOLS


async def test_pane_size_keys(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        wl, tape = app.main.watchlist, app.main.tape
        width, height = wl.outer_size.width, tape.outer_size.height
        await pilot.press("right_square_bracket")
        await until(pilot, lambda: wl.outer_size.width == width + 4)
        await pilot.press("left_square_bracket", "left_square_bracket")
        await until(pilot, lambda: wl.outer_size.width == width - 4)
        await pilot.press("plus")
        await until(pilot, lambda: tape.outer_size.height == height + 2)
        await pilot.press("minus", "minus")
        await until(pilot, lambda: tape.outer_size.height == height - 2)


async def test_help_lists_every_binding(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        console = Console(width=200, record=True, file=io.StringIO())
        console.print(app.screen.query_one("#help-table", Static).content)
        shown = console.export_text()
        for _, binding, text in KEYMAP:
            assert text in shown
            assert key_label(binding) in shown
        for _, keys, text in APP_KEYS:
            assert f"{keys}  {text}" in shown
        # keys of the main screen do nothing while help is open
        await pilot.press("j")
        assert app.main.watchlist.selected == "AAPL"
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.main)


def first_hit(app: TicktapeApp) -> str:
    """The palette's top result, once its search has produced one."""
    options = app.screen.query(CommandList)
    if not options or options.first().option_count == 0:
        return ""
    return str(options.first().get_option_at_index(0).prompt)


async def palette(pilot: Pilot[None], app: TicktapeApp, query: str, top: str) -> None:
    await pilot.press("ctrl+p")
    await until(pilot, lambda: isinstance(app.screen, CommandPalette))
    await pilot.press(*query)
    await until(pilot, lambda: top in first_hit(app))
    await pilot.press("enter")
    await until(pilot, lambda: app.screen is app.main)


async def test_palette_jumps_to_symbols_runs_actions_and_adds(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await palette(pilot, app, "META", "META")
        assert app.main.watchlist.selected == "META"
        await palette(pilot, app, "daily candles", "Daily candles")
        assert app.main.chart.timeframe == "1D"
        await palette(pilot, app, "ibm", "Add IBM")
        assert app.main.watchlist.selected == "IBM"


async def test_palette_opens_the_market_view_and_m_comes_back(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"whole-market")
        await until(pilot, lambda: "Whole-market view" in first_hit(app))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MarketScreen))
        await pilot.press("m")
        await until(pilot, lambda: app.screen is app.main)


async def test_q_quits(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running)
    assert app.return_code == 0


async def test_ctrl_q_quits(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+q")
        await until(pilot, lambda: not app.is_running)
