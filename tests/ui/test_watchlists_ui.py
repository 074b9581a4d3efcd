"""Named watchlists in the app: `w` cycles them (what is shown and subscribed follows), the
palette makes, renames and deletes them, each keeps its sort, columns and selection, and
all of it is in the config file for the next start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.command import CommandPalette
from textual.pilot import Pilot

from ticktape.config import Settings, load_settings
from ticktape.feed.session import ConnState
from ticktape.sim.server import Simulator
from ticktape.ui.app import TicktapeApp
from ticktape.ui.watchlists import ConfirmDelete
from ticktape.watchlists import NamedList

from .conftest import SYMBOLS, MakeApp, until
from .test_alerts_ui import _palette_text, type_text
from .test_snapshots import SnapCompare, settled

SIZE = (120, 36)
TWO_LISTS = (
    f"# mine\nwatchlist = {list(SYMBOLS)!r}\n".replace("'", '"') + "\n[watchlists.tech]  # chips\n"
    'symbols = ["NVDA", "AMD", "TSLA"]\n'
)


def load(path: Path, **cli: Any) -> Settings:
    return load_settings({"config_path": str(path), **cli}, env={}, dotenv_path=None)


def two_lists(tmp_path: Path, text: str = TWO_LISTS) -> Settings:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load(path)


def title(app: TicktapeApp) -> str:
    shown = app.main.watchlist._border_title  # what Textual draws on the top border
    return "" if shown is None else shown.plain.strip()


async def palette(pilot: Pilot[Any], app: TicktapeApp, phrase: str, expect: str) -> None:
    """Type ``phrase`` in the palette and press Enter once ``expect`` is its top hit."""
    await pilot.press("ctrl+p")
    await type_text(pilot, phrase)
    await until(
        pilot, lambda: _palette_text(app).startswith(expect), seen=lambda: _palette_text(app)
    )
    await pilot.press("enter")
    await until(pilot, lambda: not isinstance(app.screen, CommandPalette))


async def test_w_cycles_what_is_shown_and_subscribed(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        'watchlist = ["AAPL", "MSFT"]\n\n[watchlists.tech]\nsymbols = ["NVDA", "AMD"]\n'
    )
    async with Simulator(seed=3, symbols=("AAPL", "MSFT", "NVDA", "AMD"), rate=300.0) as sim:
        settings = load(path, ws_url=sim.ws_url, rest_url=sim.rest_url, fps=20).with_(api_key="k")
        app = TicktapeApp(settings, feed_label="SIMULATED")
        async with app.run_test(size=SIZE) as pilot:
            await until(
                pilot,
                lambda: app.feed.status is not None and app.feed.status.state is ConnState.LIVE,
            )
            session = app.feed.session
            assert session is not None
            await until(pilot, lambda: session.symbols == {"AAPL", "MSFT"})
            assert (app.main.watchlist.symbols, title(app)) == (("AAPL", "MSFT"), "default 1/2")
            await pilot.press("w")
            assert (app.main.watchlist.symbols, title(app)) == (("NVDA", "AMD"), "tech 2/2")
            await until(
                pilot, lambda: session.symbols == {"NVDA", "AMD"}, seen=lambda: session.symbols
            )
            await until(pilot, lambda: app.state.get("AMD") is not None, within=20)
            await pilot.press("W")
            assert app.main.watchlist.symbols == ("AAPL", "MSFT")
            await until(pilot, lambda: session.symbols == {"AAPL", "MSFT"})
    assert load(path).active_watchlist == "default"


async def test_each_list_keeps_its_sort_columns_and_selection(
    make_app: MakeApp, tmp_path: Path
) -> None:
    settings = two_lists(tmp_path)
    app = make_app(settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await settled()(pilot)
        wl = app.main.watchlist
        await pilot.press("j", "j")  # NVDA in the default list
        await pilot.press("w")
        assert wl.display_order == ("NVDA", "AMD", "TSLA") and wl.selected == "NVDA"
        await pilot.press("s", "S")  # sorted by symbol, Z→A
        await palette(pilot, app, "hide column Vol", "Watchlist: hide column Vol")
        assert "volume" not in wl.allowed
        assert (wl.display_order, wl.sort_key) == (("TSLA", "NVDA", "AMD"), "symbol")
        await pilot.press("w")  # back: its own order, columns and selection
        assert (wl.sort_key, wl.selected, wl.display_order) == (None, "NVDA", SYMBOLS)
        assert "volume" in wl.allowed
        await pilot.press("w")
        assert (wl.sort_key, wl.sort_desc) == ("symbol", True) and "volume" not in wl.allowed
    again = load(settings.config_path)
    assert again.active_watchlist == "tech"
    columns = tuple(k for k in again.lists()[1].shown_columns if k != "symbol")
    assert again.lists()[1] == NamedList(
        "tech", ("NVDA", "AMD", "TSLA"), again.lists()[1].columns, "symbol", True
    )
    assert "volume" not in columns and "last" in columns
    # the next start shows the same list, the same way
    app = make_app(settings=again)
    async with app.run_test(size=SIZE) as pilot:
        await settled()(pilot)
        wl = app.main.watchlist
        assert (title(app), wl.display_order, wl.sort_key) == (
            "tech 2/2",
            ("TSLA", "NVDA", "AMD"),
            "symbol",
        )
        assert "volume" not in wl.visible_columns


async def test_the_palette_makes_renames_and_deletes_lists(
    make_app: MakeApp, tmp_path: Path
) -> None:
    settings = two_lists(tmp_path)
    path = settings.config_path
    app = make_app(settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await settled()(pilot)
        wl = app.main.watchlist
        await palette(pilot, app, "watchlist new swing", "Create watchlist swing")
        assert (title(app), wl.symbols) == ("swing 3/3", ())
        app.main.add_symbol("IBM")
        await until(pilot, lambda: "IBM" in path.read_text())
        await palette(
            pilot, app, "watchlist rename long haul", "Rename watchlist swing to long haul"
        )
        assert title(app) == "long haul 3/3"
        await palette(pilot, app, "watchlist tech", "Show watchlist tech")
        assert (title(app), wl.symbols) == ("tech 2/3", ("NVDA", "AMD", "TSLA"))
        await palette(pilot, app, "watchlist delete", "Delete watchlist tech")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDelete))
        await pilot.press("n")  # kept
        await until(pilot, lambda: app.screen is app.main)
        assert [x.name for x in app.watchlists.lists] == ["default", "tech", "long haul"]
        await palette(pilot, app, "watchlist delete", "Delete watchlist tech")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDelete))
        await pilot.press("y")
        await until(pilot, lambda: app.screen is app.main)
        assert (title(app), wl.symbols) == ("long haul 2/2", ("IBM",))
    again = load(path)
    assert [(x.name, x.symbols) for x in again.lists()] == [
        ("default", SYMBOLS),
        ("long haul", ("IBM",)),
    ]
    assert again.active_watchlist == "long haul"
    text = path.read_text()
    assert text.startswith(TWO_LISTS.split("\n[watchlists.tech]")[0])  # the user's lines kept
    assert '[watchlists."long haul"]\nsymbols = ["IBM"]\n' in text


async def test_bad_names_and_the_last_list_are_refused(make_app: MakeApp, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    old = '# mine\nwatchlist = ["AAPL", "MSFT"]  # the one list\n'
    path.write_text(old)
    app = make_app(settings=load(path))
    async with app.run_test(size=SIZE) as pilot:
        await settled()(pilot)
        await pilot.press("w", "W")  # one list: nothing to cycle to
        assert title(app) == "" and app.main.watchlist.symbols == ("AAPL", "MSFT")
        await palette(pilot, app, "watchlist delete", "Delete watchlist default")
        assert app.screen is app.main  # no question: it cannot be done
        await palette(pilot, app, "watchlist new delete", "watchlist: watchlist name is a word")
        await palette(
            pilot, app, "watchlist new DEFAULT", "watchlist: there is a watchlist default"
        )
        long = "x" * 25
        await palette(pilot, app, f"watchlist new {long}", "watchlist: watchlist name is longer")
        assert [x.name for x in app.watchlists.lists] == ["default"]
    assert path.read_text() == old  # the old config, untouched
    assert not (tmp_path / "config.toml.bak").exists()


async def test_a_name_is_shown_as_written_never_as_markup(
    make_app: MakeApp, tmp_path: Path
) -> None:
    settings = two_lists(tmp_path)
    app = make_app(settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await settled()(pilot)
        await palette(pilot, app, "watchlist new [b]x[/b]", "Create watchlist [b]x[/b]")
        assert title(app) == "[b]x[/b] 3/3"
    assert load(settings.config_path).lists()[2].name == "[b]x[/b]"


def test_a_named_list_title_80x24(
    snap_compare: SnapCompare, make_app: MakeApp, tmp_path: Path
) -> None:
    text = TWO_LISTS.replace("# mine\n", '# mine\nactive_watchlist = "tech"\n')
    text += 'sort = "change_pct"\n'
    app = make_app(settings=two_lists(tmp_path, text))
    assert snap_compare(app, terminal_size=(80, 24), run_before=settled())


async def test_a_list_mixing_markets_shows_every_symbol_and_keeps_hand_edits(
    make_app: MakeApp, tmp_path: Path
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        'market = "crypto"\nactive_watchlist = "mixed"\n\n'
        '[watchlists.mixed]\nsymbols = ["AAPL", "BTC-USD", "NO SUCH", "EUR/USD", "ETH-USD"]\n'
    )
    app = make_app(settings=load(path))
    async with app.run_test(size=SIZE) as pilot:
        await settled()(pilot)
        # each pair goes to its own market; a bare word saved is a ticker whatever --market says
        assert app.main.watchlist.symbols == ("AAPL", "BTC-USD", "EUR/USD", "ETH-USD")
        app.main.add_symbol("SOL-USD")
        await until(pilot, lambda: "SOL-USD" in path.read_text())
    # an entry no market takes as written (a hand edit) is not shown, and stays where it stood
    assert load(path).lists()[0].symbols == (
        *("AAPL", "BTC-USD", "NO SUCH", "EUR/USD", "ETH-USD", "SOL-USD"),
    )
